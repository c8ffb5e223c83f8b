package dev.samplenorm.cli;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/** Expands the CLI's image input argument (a file, a directory or a glob) into sorted image paths. */
final class ImageInputs {

    static final Set<String> IMAGE_EXTENSIONS = Set.of("png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp", "ppm", "pgm");

    private ImageInputs() {}

    static boolean isImage(Path p) {
        return IMAGE_EXTENSIONS.contains(extension(p));
    }

    static String extension(Path p) {
        String name = p.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

    /**
     * @throws UserError when nothing matches, naming what was looked for
     */
    static List<Path> expand(String input) {
        boolean glob = input.indexOf('*') >= 0 || input.indexOf('?') >= 0 || input.indexOf('[') >= 0;
        List<Path> found;
        if (glob) {
            Path pattern = Path.of(input);
            Path dir = pattern.getParent() == null ? Path.of(".") : pattern.getParent();
            if (!Files.isDirectory(dir)) {
                throw new UserError("input directory not found: " + dir);
            }
            PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + pattern.getFileName());
            found = list(dir, p -> matcher.matches(p.getFileName()) && isImage(p));
            if (found.isEmpty()) {
                throw new UserError("no image matches " + input + " (expected " + String.join("/", IMAGE_EXTENSIONS) + " files)");
            }
        } else {
            Path p = Path.of(input);
            if (Files.isDirectory(p)) {
                found = list(p, ImageInputs::isImage);
                if (found.isEmpty()) {
                    throw new UserError("no image files in directory " + p + " (expected " + String.join("/", IMAGE_EXTENSIONS) + ")");
                }
            } else if (Files.isRegularFile(p)) {
                if (!isImage(p)) {
                    throw new UserError("not an image or .npy file: " + p);
                }
                found = List.of(p);
            } else {
                throw new UserError("input not found: " + p);
            }
        }
        return found;
    }

    /** The regular files of {@code dir} that {@code keep} accepts, sorted; temporary files of an interrupted run are skipped. */
    private static List<Path> list(Path dir, java.util.function.Predicate<Path> keep) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile).filter(p -> !AtomicOutput.isPartial(p)).filter(keep).sorted().toList();
        } catch (IOException e) {
            throw new UserError("cannot list directory " + dir + ": " + e.getMessage(), e);
        }
    }
}
