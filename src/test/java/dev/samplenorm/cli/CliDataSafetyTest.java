package dev.samplenorm.cli;

import static dev.samplenorm.cli.CliTest.assertUserError;
import static dev.samplenorm.cli.CliTest.run;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imwrite;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.io.Npy;
import dev.samplenorm.io.NpyArray;
import dev.samplenorm.testing.ChildJvm;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Scalar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** translate never overwrites its inputs, never leaves partial files, and refuses what it cannot translate as a user error. */
class CliDataSafetyTest {

    @TempDir
    Path tmp;

    private Path images(String dir, int count, int size) {
        Path d = tmp.resolve(dir);
        try {
            Files.createDirectories(d);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        for (int i = 0; i < count; i++) {
            try (Mat m = new Mat(size, size, CV_8UC3, new Scalar(20 + i % 200, 90, 160, 0))) {
                assertTrue(imwrite(d.resolve(String.format("img_%03d.png", i)).toString(), m));
            }
        }
        return d;
    }

    private static List<byte[]> contents(Path dir) throws IOException {
        List<byte[]> out = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.sorted().toList()) out.add(Files.readAllBytes(p));
        }
        return out;
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static void assertSameContents(List<byte[]> expected, List<byte[]> actual) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) assertArrayEquals(expected.get(i), actual.get(i), "file " + i + " unchanged");
    }

    @Test
    void anOutputDirectoryThatIsTheInputDirectoryIsRefusedUnderAnySpelling() throws IOException {
        Path in = images("in", 2, 32);
        Path link = Files.createSymbolicLink(tmp.resolve("link"), in);
        List<byte[]> before = contents(in);
        for (String out : List.of(in.toString(), in + "/", in.resolve(".").toString(), tmp.resolve("x/../in").toString(), link.toString())) {
            assertUserError(run("translate", "--input", in.toString(), "--output", out, "--device", "cpu"), "would overwrite the inputs");
        }
        assertUserError(run("translate", "--input", in.resolve("*.png").toString(), "--output", in.toString(), "--device", "cpu"),
                "would overwrite the inputs");
        assertSameContents(before, contents(in));
        assertEquals(List.of("img_000.png", "img_001.png"), names(in), "no file added");
    }

    @Test
    void anOutputFileThatIsTheInputFileIsRefusedUnderAnySpelling() throws IOException {
        Path in = images("in", 1, 32);
        Path a = in.resolve("img_000.png");
        Path link = Files.createSymbolicLink(tmp.resolve("link.png"), a);
        byte[] before = Files.readAllBytes(a);
        for (String out : List.of(a.toString(), in.resolve("./img_000.png").toString(), link.toString())) {
            assertUserError(run("translate", "--input", a.toString(), "--output", out, "--device", "cpu"), "would overwrite it");
        }
        // The directory that holds the input, as the output of that one file.
        assertUserError(run("translate", "--input", a.toString(), "--output", in.toString(), "--device", "cpu"), "would overwrite it");
        assertArrayEquals(before, Files.readAllBytes(a));
    }

    @Test
    void anNpyOutputThatIsTheNpyInputIsRefused() throws IOException {
        Path in = tmp.resolve("in.npy");
        Files.copy(CliTest.INPUT_N4, in);
        byte[] before = Files.readAllBytes(in);
        assertUserError(run("translate", "--input", in.toString(), "--output", tmp.resolve("./in.npy").toString(), "--device", "cpu"),
                "would overwrite it");
        assertArrayEquals(before, Files.readAllBytes(in));
    }

    @Test
    void aSingleImageToAPathWithoutAnImageExtensionIsAnErrorNotANewDirectory() throws IOException {
        Path a = images("in", 1, 32).resolve("img_000.png");
        Path out = tmp.resolve("result");
        assertUserError(run("translate", "--input", a.toString(), "--output", out.toString(), "--device", "cpu"), "has no image extension");
        assertFalse(Files.exists(out), "no directory created");
    }

    @Test
    void aSingleImageIntoAnExistingDirectoryKeepsItsName() throws IOException {
        Path a = images("in", 1, 32).resolve("img_000.png");
        Path out = Files.createDirectories(tmp.resolve("out"));
        CliTest.Result r = run("translate", "--input", a.toString(), "--output", out.toString(), "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        assertEquals(List.of("img_000.png"), names(out));
    }

    @Test
    void severalImagesToAnImageFileNameAreRefused() {
        Path in = images("in", 2, 32);
        Path out = tmp.resolve("out.png");
        assertUserError(run("translate", "--input", in.toString(), "--output", out.toString(), "--device", "cpu"), "give a directory");
        assertFalse(Files.exists(out), "no directory named like an image");
    }

    @Test
    void partialFilesOfAnInterruptedRunAreNotTakenAsInputs() throws IOException {
        Path in = images("in", 1, 32);
        Files.write(in.resolve(".img_001.partial-4242.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G'});
        Path out = tmp.resolve("out");
        CliTest.Result r = run("translate", "--input", in.toString(), "--output", out.toString(), "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("translated 1 image "), r.out());
        assertEquals(List.of("img_000.png"), names(out));
    }

    @Test
    void anNpyWithNoSamplesOrNoRowsIsAUserError() throws IOException {
        for (int[] shape : new int[][] {{0, 3, 128, 128}, {1, 3, 0, 128}}) {
            Path in = tmp.resolve("empty.npy");
            Npy.write(in, NpyArray.ofFloats(shape, new float[0]));
            assertUserError(run("translate", "--input", in.toString(), "--output", tmp.resolve("o.npy").toString(), "--device", "cpu"),
                    "expected N, C, H, W >= 1");
        }
        assertFalse(Files.exists(tmp.resolve("o.npy")));
    }

    @Test
    void anNpyWhoseExtentsOverflowIsAUserError() throws IOException {
        Path in = tmp.resolve("wrap.npy");
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536, 65536, 65536), }\n";
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (byte) dict.length(), 0});
        o.writeBytes(dict.getBytes(StandardCharsets.ISO_8859_1));
        Files.write(in, o.toByteArray());
        assertUserError(run("translate", "--input", in.toString(), "--output", tmp.resolve("o.npy").toString(), "--device", "cpu"),
                "too many for one array");
    }

    /** A PNG that declares {@code w x h} pixels and holds no image data: only its header can be read. */
    static byte[] pngHeaderOnly(int w, int h) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteBuffer ihdr = ByteBuffer.allocate(17).put("IHDR".getBytes(StandardCharsets.US_ASCII)).putInt(w).putInt(h)
                .put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
        CRC32 crc = new CRC32();
        crc.update(ihdr.array());
        o.writeBytes(ByteBuffer.allocate(4).putInt(13).array());
        o.writeBytes(ihdr.array());
        o.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
        return o.toByteArray();
    }

    @Test
    void anImageOverThePixelLimitIsRefusedFromItsHeaderBeforeDecoding() throws IOException {
        // 10000 x 10000 is under OpenCV's own limit (2^30 pixels) and over samplenorm's; 40000 x 40000 is over both.
        for (int side : new int[] {10000, 40000}) {
            Path big = Files.write(tmp.resolve("big" + side + ".png"), pngHeaderOnly(side, side));
            assertUserError(run("translate", "--input", big.toString(), "--output", tmp.resolve("o.png").toString(), "--device", "cpu"),
                    "declares " + side + "x" + side + " pixels; samplenorm translates images of at most 67108864 pixels");
        }
    }

    @Test
    void withTheLaunchersLogLevelAnUndecodableImageGivesOneLineOnStderr() throws Exception {
        // A PNG whose second chunk, of an unknown type, claims 2^31 - 1 bytes: OpenCV logs a warning, then fails to decode it.
        byte[] png = pngHeaderOnly(16, 16);
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(png);
        o.writeBytes(new byte[] {0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff, 'a', 'r', 'b', 'a', 1, 2, 3});
        Path bad = Files.write(tmp.resolve("bad.png"), o.toByteArray());
        for (String level : new String[] {"SILENT", null}) {
            ProcessBuilder pb = new ProcessBuilder(ChildJvm.command(Main.class, "translate", "--input", bad.toString(), "--output",
                    tmp.resolve("o.png").toString(), "--device", "cpu"));
            if (level == null) pb.environment().remove("OPENCV_LOG_LEVEL");
            else pb.environment().put("OPENCV_LOG_LEVEL", level);
            Process p = pb.redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS));
            assertEquals(Main.USER_ERROR, p.exitValue(), err);
            if (level != null) {
                assertEquals("samplenorm: error: cannot decode image " + bad, err.strip(), "one line, no OpenCV log");
            } else {
                assertTrue(err.contains("WARN"), "without the setting OpenCV logs its own warning: " + err);
            }
        }
    }

    @Test
    void sigtermDeletesTheTemporaryFileOfAWriteInProgress() throws Exception {
        Path target = tmp.resolve("out.png");
        Process p = new ProcessBuilder(ChildJvm.command(StalledWrite.class, target.toString())).redirectErrorStream(true).start();
        java.io.BufferedReader lines = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = lines.readLine();
        assertTrue(line != null && line.startsWith("WRITING "), "the child reports its temporary file: " + line);
        Path partial = Path.of(line.substring("WRITING ".length()));
        assertTrue(Files.exists(partial), "the temporary file exists while written");
        assertTrue(AtomicOutput.isPartial(partial), partial + " is recognisably partial");
        p.destroy(); // SIGTERM
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child ends on SIGTERM");
        assertFalse(Files.exists(partial), "the shutdown hook deleted " + partial);
        assertFalse(Files.exists(target), "no output appears for an interrupted write");
    }

    @Test
    void anInterruptedRunLeavesNoPartialFilesAndTheNextRunSucceeds() throws Exception {
        int count = 120;
        Path in = images("in", count, 128);
        Path out = tmp.resolve("out");
        Process p = new ProcessBuilder(ChildJvm.command(Main.class, "translate", "--input", in.toString(), "--output", out.toString(),
                "--device", "cpu")).redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (p.isAlive() && System.nanoTime() < deadline && (!Files.isDirectory(out) || names(out).size() < 3)) Thread.sleep(20);
        assertTrue(p.isAlive(), "the run was still going when interrupted: " + Files.readString(tmp.resolve("child.log")));
        p.destroy(); // SIGTERM
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the CLI ends on SIGTERM");
        assertEquals(143, p.exitValue(), "exit status of a JVM ended by SIGTERM: " + Files.readString(tmp.resolve("child.log")));
        List<String> written = names(out);
        assertTrue(written.stream().noneMatch(n -> n.contains(".partial-")), "no partial file left: " + written);
        assertTrue(written.size() < count, "interrupted before the end: " + written.size());

        // The next run over the interrupted run's folder, and the same run again, both succeed.
        CliTest.Result next = run("translate", "--input", out.toString(), "--output", tmp.resolve("next").toString(), "--device", "cpu");
        assertEquals(0, next.code(), next.err());
        assertEquals(written, names(tmp.resolve("next")));
        CliTest.Result again = run("translate", "--input", in.toString(), "--output", out.toString(), "--device", "cpu");
        assertEquals(0, again.code(), again.err());
        assertEquals(count, names(out).size());
    }
}
