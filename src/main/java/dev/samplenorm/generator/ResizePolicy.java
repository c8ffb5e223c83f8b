package dev.samplenorm.generator;

/** What {@link Generator#translate} does with images whose size differs from the model's fixed input size. */
public enum ResizePolicy {
    /**
     * Resize each image to the model's H x W (INTER_AREA when shrinking both axes, INTER_LINEAR
     * otherwise), translate, and resize each output back to its image's size the same way. The
     * default. Statistics are those of the resized images.
     */
    RESIZE,
    /** Refuse such images with an {@link IllegalArgumentException}. */
    REJECT
}
