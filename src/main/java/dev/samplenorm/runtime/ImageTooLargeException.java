package dev.samplenorm.runtime;

/** An encoded image whose header declares more pixels than the service accepts; it was not decoded. */
public final class ImageTooLargeException extends IllegalArgumentException {

    public ImageTooLargeException(String message) {
        super(message);
    }
}
