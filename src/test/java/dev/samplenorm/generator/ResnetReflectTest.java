package dev.samplenorm.generator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.Device;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.io.Npy;
import dev.samplenorm.io.NpyArray;
import dev.samplenorm.testing.Tensor;
import java.io.IOException;
import java.io.InputStream;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A second architecture, loaded from the class path: a ResNet generator with reflect padding,
 * exported by PyTorch in training mode (src/test/resources/resnet_reflect/make_fixture.py), whose
 * Pad amounts come from shape subgraphs that hide H and W from ONNX shape inference.
 */
class ResnetReflectTest {

    static final String DIR = "resnet_reflect/";

    @ParameterizedTest
    @EnumSource(StatisticsMode.class)
    void everyModeMatchesPyTorchWithOneInstanceAtN141(StatisticsMode mode) throws IOException {
        GeneratorOptions o = GeneratorOptions.builder().statistics(mode).device(Device.cpu()).build();
        try (Generator g = Generator.loadResource(DIR + "resnet_reflect_24x40.onnx", o)) {
            assertEquals(7, g.modelInfo().trainingBatchNormCount());
            for (int n : new int[] {1, 4, 1}) {
                try (Mat in = npy("input_n" + n).toFloatMat(); Mat out = g.translateBlob(in)) {
                    String stem = mode == StatisticsMode.INPUT ? "inputnorm" : mode.cliName();
                    double err = Tensor.relativeL2(NpyArray.of(out).asDoubles(), npy(stem + "_n" + n).doubles());
                    assertTrue(err <= 1e-4, mode.cliName() + " N=" + n + ": relative L2 " + err);
                }
            }
        }
    }

    static NpyArray npy(String stem) throws IOException {
        try (InputStream in = ResnetReflectTest.class.getClassLoader().getResourceAsStream(DIR + stem + ".npy")) {
            if (in == null) throw new IOException("missing test resource " + DIR + stem + ".npy");
            return Npy.parse(in.readAllBytes());
        }
    }
}
