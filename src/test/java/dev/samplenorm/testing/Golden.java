package dev.samplenorm.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the bundled trained model and its golden outputs live (models/ at the repository root). */
public final class Golden {

    private Golden() {}

    public static final Path MODELS = Path.of("models");
    public static final Path MODEL = MODELS.resolve("pix2pix_shapes_128.onnx");
    public static final Path DIR = MODELS.resolve("golden");

    /** The golden file of a mode: {@code input} is stored as {@code inputnorm_nN.npy}, as {@code input_nN.npy} is the model input. */
    public static Path output(String mode, int n) {
        return DIR.resolve((mode.equals("input") ? "inputnorm" : mode) + "_n" + n + ".npy");
    }

    public static Path input(int n) {
        return DIR.resolve("input_n" + n + ".npy");
    }

    public static boolean present() {
        return Files.isRegularFile(MODEL) && Files.isRegularFile(DIR.resolve("manifest.json"));
    }
}
