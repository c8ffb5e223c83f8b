package dev.samplenorm.cli;

/** A mistake the user can fix (missing file, wrong option value): one line on stderr, exit code 2. */
final class UserError extends RuntimeException {
    UserError(String message) {
        super(message);
    }

    UserError(String message, Throwable cause) {
        super(message, cause);
    }
}
