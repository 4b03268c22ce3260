import Testing

// The gateway end-to-end suites live beside this file.
