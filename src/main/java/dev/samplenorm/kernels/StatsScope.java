package dev.samplenorm.kernels;

import dev.samplenorm.global.samplenorm;

/** Over which elements a channel's mean and variance are taken. */
public enum StatsScope {
    /** One mean/variance per channel over (N, H, W): BatchNorm's training-mode statistics. */
    BATCH(samplenorm.SN_SCOPE_BATCH),
    /** One mean/variance per (image, channel) over (H, W): each image normalized on its own. */
    SAMPLE(samplenorm.SN_SCOPE_SAMPLE);

    final int nativeValue;

    StatsScope(int nativeValue) {
        this.nativeValue = nativeValue;
    }
}
