package dev.samplenorm.cli;

import static org.bytedeco.opencv.global.opencv_core.CV_8U;
import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_COLOR;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imdecode;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.opencv_core.Mat;

/** The bundled sample sketches (class path resources next to the bundled model). */
final class SampleImages {

    static final int COUNT = 6;

    private SampleImages() {}

    /** The sample sketches as 8-bit BGR Mats; the caller closes them. */
    static List<Mat> load() throws IOException {
        List<Mat> out = new ArrayList<>();
        for (int i = 1; i <= COUNT; i++) {
            out.add(decode(String.format("dev/samplenorm/models/samples/sketch_%02d.png", i)));
        }
        return out;
    }

    static String name(int index) {
        return String.format("sketch_%02d", index + 1);
    }

    private static Mat decode(String resource) throws IOException {
        try (InputStream in = SampleImages.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) throw new IOException("missing bundled resource " + resource);
            byte[] bytes = in.readAllBytes();
            try (BytePointer p = new BytePointer(bytes); Mat buf = new Mat(1, bytes.length, CV_8U, p)) {
                Mat img = imdecode(buf, IMREAD_COLOR);
                if (img == null || img.empty()) throw new IOException("cannot decode bundled resource " + resource);
                return img;
            }
        }
    }
}
