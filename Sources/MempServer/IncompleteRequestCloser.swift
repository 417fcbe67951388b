import NIOCore
import NIOHTTPTypes

/// Closes a connection when the server starts to shut down while a request on it is still arriving and nothing
/// earlier on it awaits an answer.
///
/// Graceful shutdown waits for every request that has begun, and a request begins with its head: a client that
/// sent a head and part of a body, then nothing, held shutdown up until the idle timeout. Such a request can't be
/// answered (its body is incomplete), so closing it loses nothing; requests received in full are still answered.
final class IncompleteRequestCloser: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Whether a request's head has arrived and its end has not.
    private var receiving = false
    /// Requests received in full whose answer has not been written to its end.
    private var unanswered = 0

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: receiving = true
        case .body: break
        case .end:
            receiving = false
            unanswered += 1
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { unanswered = max(0, unanswered - 1) }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, receiving, unanswered == 0 {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
