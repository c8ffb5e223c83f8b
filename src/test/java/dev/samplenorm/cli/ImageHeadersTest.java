package dev.samplenorm.cli;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imwrite;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Scalar;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Image sizes are read from the file header, for every format the CLI takes. */
class ImageHeadersTest {

    @TempDir
    Path tmp;

    @Test
    void theDeclaredSizeIsReadForEveryImageFormatTheCliTakes() throws IOException {
        for (String ext : List.of("png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp", "ppm", "pgm")) {
            Path p = tmp.resolve("img." + ext);
            try (Mat m = new Mat(23, 37, ext.equals("pgm") ? CV_8UC1 : CV_8UC3, new Scalar(10, 20, 30, 0))) {
                assertTrue(imwrite(p.toString(), m), "OpenCV writes " + ext);
            }
            assertEquals(new ImageHeaders.Size(37, 23), ImageHeaders.read(p), ext);
        }
    }

    @Test
    void aPngHeaderIsReadWithoutItsImageData() throws IOException {
        Path p = Files.write(tmp.resolve("bomb.png"), CliDataSafetyTest.pngHeaderOnly(50000, 40000));
        assertEquals(new ImageHeaders.Size(50000, 40000), ImageHeaders.read(p));
    }

    @Test
    void aFileOfNoKnownFormatHasNoDeclaredSize() throws IOException {
        assertNull(ImageHeaders.read(Files.writeString(tmp.resolve("x.png"), "not an image at all")));
    }
}
