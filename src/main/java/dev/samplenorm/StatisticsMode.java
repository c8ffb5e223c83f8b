package dev.samplenorm;

import java.util.Locale;
import java.util.Objects;

/**
 * Which statistics every BatchNorm layer of a generator normalizes with. The lower-case names
 * ({@code sample}, {@code batch}, {@code running}, {@code input}) are the ones the command line
 * and the documentation use.
 */
public enum StatisticsMode {
    /**
     * Each image is normalized with its own mean and biased variance over (H, W), per channel:
     * the Pix2Pix reference test behaviour (train-mode BatchNorm at batch size 1). An image's
     * output never depends on the other images of the batch. The default.
     */
    SAMPLE,
    /**
     * The statistics of the whole batch over (N, H, W), per channel: literally
     * {@code training=True} at batch size N. Equals {@link #SAMPLE} at N = 1.
     */
    BATCH,
    /** The running statistics stored in the model: {@code eval()} behaviour, and what OpenCV does by itself. */
    RUNNING,
    /**
     * An approximation of {@link #BATCH} only: the {@link #RUNNING} network, its input normalized
     * per channel with the batch's mean and biased variance and its output de-normalized with the
     * same statistics. On U-Net generators it lands far (relative L2 of order 1) from true
     * train-mode output; it exists because it has been asked for.
     */
    INPUT;

    /** The lower-case name used on the command line and in documentation. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses {@code sample}, {@code batch}, {@code running} or {@code input} (case-insensitive).
     *
     * @throws IllegalArgumentException for anything else
     */
    public static StatisticsMode parse(String text) {
        Objects.requireNonNull(text, "statistics mode");
        String t = text.trim().toUpperCase(Locale.ROOT);
        for (StatisticsMode m : values()) {
            if (m.name().equals(t)) return m;
        }
        throw new IllegalArgumentException("unknown statistics mode '" + text + "', expected one of sample, batch, running, input");
    }

    /** True for the modes that replace BatchNorm with per-sample or per-batch normalization inside the network. */
    public boolean usesBatchStatisticsInside() {
        return this == SAMPLE || this == BATCH;
    }
}
