import Testing

// Placeholder until this module's first real test lands; delete it then.
