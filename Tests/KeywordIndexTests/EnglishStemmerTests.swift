import Testing

@testable import KeywordIndex

@Suite struct EnglishStemmerTests {
    @Test func publishedVocabularyExamples() {
        for (word, stem) in Self.published { #expect(EnglishStemmer.stem(word) == stem, "\(word)") }
    }

    @Test func exceptionsAndSpecialRules() {
        for (word, stem) in Self.exceptionsAndRules { #expect(EnglishStemmer.stem(word) == stem, "\(word)") }
    }

    /// Words sampled (seed 7) from a 65,478-word vocabulary on which this stemmer and Snowball 3.1.1's
    /// generated English stemmer agreed on every word.
    @Test func sampledVocabularyMatchesSnowball() {
        for (word, stem) in Self.sampled { #expect(EnglishStemmer.stem(word) == stem, "\(word)") }
    }

    @Test func nonASCIIAndShortWordsAreUnchanged() {
        #expect(EnglishStemmer.stem("café") == "café")
        #expect(EnglishStemmer.stem("is") == "is")
        #expect(EnglishStemmer.stem("") == "")
        #expect(EnglishStemmer.stem("x86") == "x86")
    }

    static let published: [(String, String)] = [
        ("consign", "consign"), ("consigned", "consign"), ("consigning", "consign"), ("consignment", "consign"),
        ("consist", "consist"), ("consisted", "consist"), ("consistency", "consist"), ("consistent", "consist"),
        ("consistently", "consist"), ("consisting", "consist"), ("consists", "consist"), ("consolation", "consol"),
        ("consolations", "consol"), ("consolatory", "consolatori"), ("console", "consol"), ("consoled", "consol"),
        ("consoles", "consol"), ("consolidate", "consolid"), ("consolidated", "consolid"),
        ("consolidating", "consolid"), ("consoling", "consol"), ("consolingly", "consol"), ("consols", "consol"),
        ("consonant", "conson"), ("consort", "consort"), ("consorted", "consort"), ("consorting", "consort"),
        ("conspicuous", "conspicu"), ("conspicuously", "conspicu"), ("conspiracy", "conspiraci"),
        ("conspirator", "conspir"), ("conspirators", "conspir"), ("conspire", "conspir"), ("conspired", "conspir"),
        ("conspiring", "conspir"), ("constable", "constabl"), ("constables", "constabl"), ("constance", "constanc"),
        ("constancies", "constanc"), ("constancy", "constanc"), ("constant", "constant"), ("knack", "knack"),
        ("knackeries", "knackeri"), ("knacks", "knack"), ("knag", "knag"), ("knave", "knave"), ("knaves", "knave"),
        ("knavish", "knavish"), ("kneaded", "knead"), ("kneading", "knead"), ("knee", "knee"), ("kneel", "kneel"),
        ("kneeled", "kneel"), ("kneeling", "kneel"), ("kneels", "kneel"), ("knees", "knee"), ("knell", "knell"),
        ("knelt", "knelt"), ("knew", "knew"), ("knick", "knick"), ("knif", "knif"), ("knife", "knife"),
        ("knight", "knight"), ("knightly", "knight"), ("knights", "knight"), ("knit", "knit"), ("knits", "knit"),
        ("knitted", "knit"), ("knitting", "knit"), ("knives", "knive"), ("knob", "knob"), ("knobs", "knob"),
        ("knock", "knock"), ("knocked", "knock"), ("knocker", "knocker"), ("knockers", "knocker"),
        ("knocking", "knock"), ("knocks", "knock"), ("knopp", "knopp"), ("knot", "knot"), ("knots", "knot"),
    ]

    static let exceptionsAndRules: [(String, String)] = [
        ("skis", "ski"), ("skies", "sky"), ("sky", "sky"), ("idly", "idl"), ("gently", "gentl"), ("ugly", "ugli"),
        ("early", "earli"), ("only", "onli"), ("singly", "singl"), ("news", "news"), ("howe", "howe"),
        ("atlas", "atlas"), ("cosmos", "cosmos"), ("bias", "bias"), ("andes", "andes"), ("dying", "die"),
        ("lying", "lie"), ("tying", "tie"), ("inning", "inning"), ("outing", "outing"), ("canning", "canning"),
        ("herring", "herring"), ("earring", "earring"), ("evening", "evening"), ("proceed", "proceed"),
        ("exceed", "exceed"), ("succeed", "succeed"), ("agreed", "agre"), ("feed", "feed"), ("added", "add"),
        ("ebbed", "ebb"), ("generously", "generous"), ("communal", "communal"), ("arsenal", "arsenal"),
        ("universal", "universal"), ("pasted", "paste"), ("emergency", "emergenc"), ("organization", "organiz"),
        ("international", "internat"), ("cries", "cri"), ("ties", "tie"), ("gas", "gas"), ("this", "this"),
        ("gaps", "gap"), ("kiwis", "kiwi"), ("hopping", "hop"), ("hoping", "hope"), ("luxuriating", "luxuri"),
        ("fizzed", "fizz"), ("failing", "fail"), ("filing", "file"), ("happy", "happi"), ("by", "by"),
        ("say", "say"), ("cry", "cri"), ("technologist", "technolog"), ("archaeology", "archaeolog"),
        ("apologies", "apolog"),
    ]

    static let sampled: [(String, String)] = [
        ("aacompromise", "aacompromis"), ("abnflexer", "abnflex"), ("accounting", "account"), ("adverse", "advers"),
        ("aggressively", "aggress"), ("andd", "andd"), ("animations", "anim"), ("annoying", "annoy"),
        ("anytime", "anytim"), ("appendleft", "appendleft"), ("applychanges", "applychang"),
        ("appropriate", "appropri"), ("approx", "approx"), ("arccsc", "arccsc"), ("assumed", "assum"),
        ("atfarright", "atfarright"), ("bac", "bac"), ("bail", "bail"), ("barman", "barman"), ("bbf", "bbf"),
        ("beanproperties", "beanproperti"), ("bfloat", "bfloat"), ("bgodfrey", "bgodfrey"), ("bgtzl", "bgtzl"),
        ("bidirectional", "bidirect"), ("bindcontrols", "bindcontrol"), ("biquad", "biquad"),
        ("bitcount", "bitcount"), ("bitshiftleft", "bitshiftleft"), ("blockwrite", "blockwrit"), ("boolx", "boolx"),
        ("bowels", "bowel"), ("bqf", "bqf"), ("brandingimage", "brandingimag"), ("bscheme", "bscheme"),
        ("bsup", "bsup"), ("bytecompile", "bytecompil"), ("callboolean", "callboolean"),
        ("callbytemethod", "callbytemethod"), ("campos", "campo"), ("canvwidth", "canvwidth"), ("caseno", "caseno"),
        ("cass", "cass"), ("cave", "cave"), ("caxarray", "caxarray"), ("cbuffer", "cbuffer"),
        ("centralise", "centralis"), ("ceremony", "ceremoni"), ("chained", "chain"),
        ("changematrix", "changematrix"), ("chess", "chess"), ("cinwords", "cinword"), ("circumflex", "circumflex"),
        ("circumstances", "circumst"), ("cisaliencymap", "cisaliencymap"), ("civignette", "civignett"),
        ("ckquerycursor", "ckquerycursor"), ("clashes", "clash"), ("cmovna", "cmovna"), ("colorref", "colorref"),
        ("comment", "comment"), ("comobjactive", "comobjact"), ("comparable", "compar"), ("composable", "compos"),
        ("confused", "confus"), ("conren", "conren"), ("consult", "consult"), ("contravariant", "contravari"),
        ("copier", "copier"), ("correspond", "correspond"), ("cplintlexer", "cplintlex"), ("crisp", "crisp"),
        ("cskp", "cskp"), ("currentpath", "currentpath"), ("currentthread", "currentthread"), ("cuttext", "cuttext"),
        ("cwi", "cwi"), ("cyccalc", "cyccalc"), ("darkbg", "darkbg"), ("datatypes", "datatyp"),
        ("datawritten", "datawritten"), ("dateish", "dateish"), ("datepart", "datepart"), ("dates", "date"),
        ("dba", "dba"), ("debugactions", "debugact"), ("deepgrey", "deepgrey"), ("defstruct", "defstruct"),
        ("delayr", "delayr"), ("dens", "den"), ("dershowitz", "dershowitz"), ("designation", "design"),
        ("detailurl", "detailurl"), ("dharr", "dharr"), ("dispatching", "dispatch"), ("djn", "djn"),
        ("dmpstr", "dmpstr"), ("docked", "dock"), ("domain", "domain"), ("drivesetlabel", "drivesetlabel"),
        ("duelengine", "duelengin"), ("eaglcontext", "eaglcontext"), ("ecb", "ecb"), ("echooff", "echooff"),
        ("editbox", "editbox"), ("eigenql", "eigenql"), ("ekcalendaritem", "ekcalendaritem"),
        ("encodeurl", "encodeurl"), ("enddef", "enddef"), ("endl", "endl"), ("engraver", "engrav"),
        ("ensurestopped", "ensurestop"), ("episeminitium", "episeminitium"), ("escape", "escap"),
        ("eventloop", "eventloop"), ("exec", "exec"), ("exempel", "exempel"), ("expects", "expect"),
        ("expint", "expint"), ("explain", "explain"), ("faa", "faa"), ("fabhb", "fabhb"), ("fbcbb", "fbcbb"),
        ("fcs", "fcs"), ("feeder", "feeder"), ("filereadlong", "filereadlong"), ("fillchar", "fillchar"),
        ("firmly", "firm"), ("flexibly", "flexibl"), ("floatfraction", "floatfract"),
        ("foldlevelstart", "foldlevelstart"), ("freepascal", "freepasc"), ("fromutc", "fromutc"), ("fsum", "fsum"),
        ("fulltype", "fulltyp"), ("gendy", "gendi"), ("getlast", "getlast"), ("getmarquee", "getmarque"),
        ("getnonunit", "getnonunit"), ("getscilabmode", "getscilabmod"), ("gfile", "gfile"), ("glex", "glex"),
        ("gllinkprogram", "gllinkprogram"), ("gnuld", "gnuld"), ("gsnboxmargin", "gsnboxmargin"),
        ("guards", "guard"), ("guided", "guid"), ("heaps", "heap"), ("helpformatter", "helpformatt"),
        ("hides", "hide"), ("hkswarow", "hkswarow"), ("hmaccessory", "hmaccessori"), ("htcpcp", "htcpcp"),
        ("idea", "idea"), ("imagedraw", "imagedraw"), ("importdata", "importdata"), ("infmsg", "infmsg"),
        ("inlinemath", "inlinemath"), ("inmediaitem", "inmediaitem"), ("insecurely", "insecur"),
        ("insertpoints", "insertpoint"), ("installing", "instal"), ("instead", "instead"), ("inststate", "inststat"),
        ("intformat", "intformat"), ("intr", "intr"), ("invconsk", "invconsk"), ("inversion", "invers"),
        ("invexrc", "invexrc"), ("iqr", "iqr"), ("irate", "irat"), ("iread", "iread"), ("isemptyline", "isemptylin"),
        ("isnotsuite", "isnotsuit"), ("isoamsn", "isoamsn"), ("issolid", "issolid"), ("issuperset", "issuperset"),
        ("istrip", "istrip"), ("itcgetstate", "itcgetst"), ("iterlists", "iterlist"), ("ivreg", "ivreg"),
        ("jng", "jng"), ("kbdint", "kbdint"), ("kijunsen", "kijunsen"), ("lacrosse", "lacross"),
        ("lastinsertid", "lastinsertid"), ("lbrke", "lbrke"), ("ldimage", "ldimag"), ("leg", "leg"),
        ("lenient", "lenient"), ("levelset", "levelset"), ("lfisht", "lfisht"), ("lhblk", "lhblk"),
        ("libabc", "libabc"), ("library", "librari"), ("lightyellow", "lightyellow"), ("limaginary", "limaginari"),
        ("linebreaks", "linebreak"), ("linein", "linein"), ("lowagiefont", "lowagiefont"), ("lslice", "lslice"),
        ("lsln", "lsln"), ("ltable", "ltabl"), ("ltdot", "ltdot"), ("mackey", "mackey"), ("makelink", "makelink"),
        ("maracas", "maraca"), ("mathematisch", "mathematisch"), ("maxspecified", "maxspecifi"),
        ("maxtop", "maxtop"), ("maxushort", "maxushort"), ("mexhost", "mexhost"), ("minss", "minss"),
        ("misspelt", "misspelt"), ("mksmbf", "mksmbf"), ("mlcmatmullayer", "mlcmatmullay"),
        ("moneyformat", "moneyformat"), ("movetotarget", "movetotarget"), ("movt", "movt"), ("mton", "mton"),
        ("multiset", "multiset"), ("mycmd", "mycmd"), ("myghty", "myghti"), ("myrights", "myright"),
        ("ncalgebra", "ncalgebra"), ("neg", "neg"), ("netmask", "netmask"), ("netnames", "netnam"),
        ("netstatusevent", "netstatusev"), ("nfd", "nfd"), ("ngg", "ngg"), ("nibbles", "nibbl"), ("niv", "niv"),
        ("nltv", "nltv"), ("noar", "noar"), ("nocrop", "nocrop"), ("noes", "noe"), ("noopt", "noopt"),
        ("normalise", "normalis"), ("notsubsetequal", "notsubsetequ"), ("noxdti", "noxdti"), ("nrrang", "nrrang"),
        ("nslookup", "nslookup"), ("nsmappingmodel", "nsmappingmodel"), ("nsn", "nsn"), ("obj", "obj"),
        ("oledropmode", "oledropmod"), ("openup", "openup"), ("ordqz", "ordqz"), ("orp", "orp"), ("other", "other"),
        ("outcomes", "outcom"), ("paramter", "paramt"), ("parsefunc", "parsefunc"), ("passthru", "passthru"),
        ("paste", "paste"), ("pdcmat", "pdcmat"), ("pdword", "pdword"), ("periodseconds", "periodsecond"),
        ("pfail", "pfail"), ("phaser", "phaser"), ("pkgnames", "pkgname"), ("planet", "planet"), ("plt", "plt"),
        ("poppler", "poppler"), ("portugal", "portug"), ("positions", "posit"), ("postmatch", "postmatch"),
        ("powers", "power"), ("pqpnonneg", "pqpnonneg"), ("printlist", "printlist"), ("problog", "problog"),
        ("profile", "profil"), ("projspec", "projspec"), ("pslspec", "pslspec"), ("ptrn", "ptrn"),
        ("pulsestats", "pulsestat"), ("purely", "pure"), ("pyinteger", "pyinteg"), ("pylcallni", "pylcallni"),
        ("pyw", "pyw"), ("qreg", "qreg"), ("quillensuslin", "quillensuslin"), ("quotmapsq", "quotmapsq"),
        ("randf", "randf"), ("rarrbfs", "rarrbf"), ("rawstr", "rawstr"), ("raymond", "raymond"),
        ("readelf", "readelf"), ("reader", "reader"), ("recall", "recal"), ("rectint", "rectint"),
        ("regerror", "regerror"), ("reinstalls", "reinstal"), ("repita", "repita"), ("reqfilelines", "reqfilelin"),
        ("respect", "respect"), ("rework", "rework"), ("rgbplot", "rgbplot"), ("rhythmicstaff", "rhythmicstaff"),
        ("rightbelow", "rightbelow"), ("ringmap", "ringmap"), ("rmoveto", "rmoveto"), ("rni", "rni"),
        ("roboconf", "roboconf"), ("rpmbuild", "rpmbuild"), ("rstr", "rstr"), ("saslexer", "saslex"), ("scd", "scd"),
        ("scripts", "script"), ("segnomark", "segnomark"), ("sei", "sei"), ("sendall", "sendal"),
        ("sendto", "sendto"), ("setaffinity", "setaffin"), ("setmatherr", "setmatherr"), ("setmodcut", "setmodcut"),
        ("seventh", "seventh"), ("shareablelist", "shareablelist"), ("shgrid", "shgrid"),
        ("showchecksum", "showchecksum"), ("sigalrm", "sigalrm"), ("signers", "signer"), ("simple", "simpl"),
        ("singletons", "singleton"), ("skill", "skill"), ("smartindent", "smartind"),
        ("sollicitudin", "sollicitudin"), ("solver", "solver"), ("spr", "spr"), ("sslcert", "sslcert"),
        ("sslerror", "sslerror"), ("sspreq", "sspreq"), ("stadium", "stadium"), ("stanzanumber", "stanzanumb"),
        ("stoplog", "stoplog"), ("store", "store"), ("streamtube", "streamtub"), ("strfmt", "strfmt"),
        ("strlfmt", "strlfmt"), ("strrindex", "strrindex"), ("structfun", "structfun"), ("subdate", "subdat"),
        ("subseteqq", "subseteqq"), ("survey", "survey"), ("sysenter", "sysent"), ("syssize", "syssiz"),
        ("tangents", "tangent"), ("temporarly", "temporar"), ("terraform", "terraform"), ("tet", "tet"),
        ("textscript", "textscript"), ("threadvariable", "threadvari"), ("tildeequal", "tildeequ"),
        ("tiling", "tile"), ("tolerant", "toler"), ("topindex", "topindex"), ("toplevelfinder", "toplevelfind"),
        ("tornadoweb", "tornadoweb"), ("transformed", "transform"), ("tspreadideals", "tspreadid"), ("tss", "tss"),
        ("ttis", "ttis"), ("ufeca", "ufeca"), ("uialert", "uialert"), ("uicolor", "uicolor"),
        ("unexpectedly", "unexpect"), ("unmarshalls", "unmarshal"), ("upcoord", "upcoord"), ("utility", "util"),
        ("valueerrors", "valueerror"), ("varchars", "varchar"), ("varfetch", "varfetch"),
        ("vblongdate", "vblongdat"), ("vhs", "vhs"), ("viewport", "viewport"), ("viewportleft", "viewportleft"),
        ("violet", "violet"), ("vsymm", "vsymm"), ("warnoptions", "warnopt"), ("waveformgen", "waveformgen"),
        ("weaknesses", "weak"), ("webdeleteerror", "webdeleteerror"), ("welcome", "welcom"), ("widths", "width"),
        ("winsxs", "winsx"), ("withattribute", "withattribut"), ("wordchars", "wordchar"),
        ("writememb", "writememb"), ("xchat", "xchat"), ("xfcba", "xfcba"), ("xfcbb", "xfcbb"), ("xfdec", "xfdec"),
        ("xlabel", "xlabel"), ("xmlclient", "xmlclient"), ("xul", "xul"), ("xxxwrite", "xxxwrite"),
        ("xymarkercolor", "xymarkercolor"), ("yod", "yod"), ("zenburnpage", "zenburnpag"),
    ]
}
