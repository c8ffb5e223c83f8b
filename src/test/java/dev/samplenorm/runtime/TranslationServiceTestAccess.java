package dev.samplenorm.runtime;

/** Test helpers of this package for tests in other packages. */
public final class TranslationServiceTestAccess {

    private TranslationServiceTestAccess() {}

    /** A PNG whose header claims {@code w x h} pixels, with a tiny body. */
    public static byte[] bombPng(int w, int h) {
        return TranslationServiceTest.bombPng(w, h);
    }
}
