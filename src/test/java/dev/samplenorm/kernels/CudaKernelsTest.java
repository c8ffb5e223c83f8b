package dev.samplenorm.kernels;

import static org.bytedeco.opencv.global.opencv_core.CV_32F;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.samplenorm.testing.GpuCondition;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.opencv.opencv_core.GpuMat;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The CUDA kernels against the host kernels (1e-5 relative); needs a CUDA device and OpenCV's GPU build (-Pgpu). */
class CudaKernelsTest {

    @BeforeAll
    static void requireCuda() {
        String why = GpuCondition.skipReason();
        if (why != null) System.out.println("CUDA kernel tests skipped: " + why);
        assumeTrue(why == null, why);
    }

    static GpuMat upload(float[] x, BlobShape s) {
        try (Mat host = new Mat(s.n() * s.c() * s.h(), s.w(), CV_32F)) {
            new FloatPointer(host.data()).put(x);
            GpuMat g = new GpuMat();
            g.upload(host);
            return g;
        }
    }

    static float[] download(GpuMat g) {
        try (Mat host = new Mat()) {
            g.download(host);
            float[] out = new float[(int) host.total()];
            new FloatPointer(host.data()).get(out);
            return out;
        }
    }

    static void assertClose(double expected, double actual, double rel, String what) {
        assertTrue(Math.abs(actual - expected) <= rel * (1 + Math.abs(expected)), what + ": " + actual + " vs " + expected);
    }

    @Test
    void statisticsAndNormalizeMatchTheHostKernels() {
        for (BlobShape s : new BlobShape[] {new BlobShape(1, 3, 7, 13), new BlobShape(4, 3, 256, 255), new BlobShape(16, 64, 9, 9)}) {
            float[] x = TestData.gaussian(s, s.hashCode(), 5, 2);
            for (StatsScope scope : StatsScope.values()) {
                ChannelStats host = HostKernels.statistics(x, s, scope);
                float[] hostOut = new float[x.length];
                HostKernels.normalize(x, hostOut, s, host, null, null, 1e-5);
                try (Stream stream = new Stream(); CudaKernels k = CudaKernels.on(stream); GpuMat g = upload(x, s);
                        DeviceChannelStats d = k.statistics(g, s, scope); GpuMat out = new GpuMat()) {
                    k.normalize(g, out, s, d, null, null, 1e-5);
                    ChannelStats dev = d.download(stream);
                    for (int i = 0; i < host.size(); i++) {
                        assertClose(host.means()[i], dev.means()[i], 1e-5, "mean " + i);
                        assertClose(host.variances()[i], dev.variances()[i], 1e-5, "variance " + i);
                    }
                    float[] devOut = download(out);
                    for (int i = 0; i < x.length; i++) assertClose(hostOut[i], devOut[i], 1e-5, "normalized " + i);
                }
            }
        }
    }

    @Test
    void imageConversionMatchesTheHostKernels() {
        List<Mat> images = TestData.images(4, 31, 47, 3, 0, 3);
        try (Mat hostBlob = new Mat(); Stream stream = new Stream(); CudaKernels k = CudaKernels.on(stream); GpuMat blob = new GpuMat()) {
            ChannelStats host = HostKernels.imagesToNormalizedBlob(images, hostBlob, StatsScope.SAMPLE, true, 1 / 127.5, 1e-5);
            List<GpuMat> gpuImages = new ArrayList<>();
            for (Mat m : images) {
                GpuMat g = new GpuMat();
                g.upload(m);
                gpuImages.add(g);
            }
            try (DeviceChannelStats d = k.imagesToNormalizedBlob(gpuImages, blob, StatsScope.SAMPLE, true, 1 / 127.5, 1e-5)) {
                ChannelStats dev = d.download(stream);
                for (int i = 0; i < host.size(); i++) assertEquals(host.means()[i], dev.means()[i], 1e-9);
                float[] h = new float[4 * 3 * 31 * 47];
                new FloatPointer(hostBlob.data()).get(h);
                float[] g = download(blob);
                for (int i = 0; i < h.length; i++) assertClose(h[i], g[i], 1e-5, "blob " + i);
                List<GpuMat> back = new ArrayList<>();
                for (int i = 0; i < 4; i++) back.add(new GpuMat());
                k.blobToImages(blob, new BlobShape(4, 3, 31, 47), back, d, true, 1 / 127.5, 1e-5);
                stream.waitForCompletion();
                for (int i = 0; i < 4; i++) {
                    try (Mat m = new Mat()) {
                        back.get(i).download(m);
                        ImageConversionTest.assertImagesEqual(images.get(i), m);
                    }
                }
            }
        }
    }
}
