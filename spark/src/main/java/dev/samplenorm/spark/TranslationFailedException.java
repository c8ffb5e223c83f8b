package dev.samplenorm.spark;

/** A row could not be translated and the translator was told to fail the job ({@link SparkTranslator.OnError#FAIL}). */
public final class TranslationFailedException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public TranslationFailedException(String message) {
        super(message);
    }
}
