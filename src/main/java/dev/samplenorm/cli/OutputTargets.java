package dev.samplenorm.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Where {@code translate} writes, decided and checked before anything runs: no output may replace an input. */
final class OutputTargets {

    private OutputTargets() {}

    /**
     * The output path of each image: {@code output} itself for one image file given as the input
     * (it must then name an image file, or be an existing directory to write into), else
     * {@code output/NAME} for each input NAME.
     */
    static List<Path> forImages(String input, List<Path> images, Path output) {
        boolean outputIsDirectory = Files.isDirectory(output);
        boolean oneFile = images.size() == 1 && Files.isRegularFile(Path.of(input));
        if (!outputIsDirectory && ImageInputs.isImage(output)) {
            if (images.size() == 1) return List.of(output);
            throw new UserError("output " + output + " names an image file, but the input holds " + images.size()
                    + " images; give a directory as --output");
        }
        if (oneFile && !outputIsDirectory) {
            throw new UserError("output " + output + " has no image extension (expected one of "
                    + String.join("/", ImageInputs.IMAGE_EXTENSIONS) + "); name the output image file, or give an existing directory");
        }
        if (Files.exists(output) && !outputIsDirectory) {
            throw new UserError("output must be a directory for " + images.size() + " images, got the file " + output);
        }
        List<Path> targets = new ArrayList<>();
        for (Path p : images) targets.add(output.resolve(p.getFileName()));
        return targets;
    }

    /**
     * Refuses outputs that would replace an input: the same file under another spelling
     * ({@code ./a.png}, a symbolic link) included. Paths are compared by their real paths.
     */
    static void refuseOverwritingInputs(List<Path> inputs, List<Path> targets) {
        Map<Path, Path> byIdentity = new HashMap<>();
        for (Path in : inputs) byIdentity.put(identity(in), in);
        for (Path target : targets) {
            Path in = byIdentity.get(identity(target));
            if (in != null) {
                // Several inputs: the output directory holds them (it is the input directory, or holds a same-named input).
                throw new UserError(inputs.size() > 1
                        ? "output directory " + target.getParent() + " holds the input " + in + ": translating would overwrite the inputs;"
                                + " give another --output"
                        : "output " + target + " is the input " + in + ": translating would overwrite it; give another --output");
            }
        }
    }

    /** The real path of {@code p}, or of its nearest existing ancestor with the rest appended. */
    static Path identity(Path p) {
        Path abs = p.toAbsolutePath().normalize();
        try {
            return abs.toRealPath();
        } catch (IOException e) {
            Path parent = abs.getParent();
            return parent == null ? abs : identity(parent).resolve(abs.getFileName());
        }
    }
}
