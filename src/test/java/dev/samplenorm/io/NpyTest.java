package dev.samplenorm.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.samplenorm.testing.Golden;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {

    @TempDir
    Path tmp;

    @Test
    void float32AndFloat64RoundTrip() throws IOException {
        NpyArray f = NpyArray.ofFloats(new int[] {2, 3}, new float[] {1, -2, 3.5f, Float.MIN_VALUE, Float.MAX_VALUE, -0f});
        NpyArray d = NpyArray.ofDoubles(new int[] {5}, new double[] {Math.PI, -1e300, 0, 1, Double.MIN_NORMAL});
        Npy.write(tmp.resolve("f.npy"), f);
        Npy.write(tmp.resolve("d.npy"), d);
        NpyArray f2 = Npy.read(tmp.resolve("f.npy")), d2 = Npy.read(tmp.resolve("d.npy"));
        assertEquals(NpyArray.Type.FLOAT32, f2.type());
        assertArrayEquals(new int[] {2, 3}, f2.shape());
        assertArrayEquals(f.floats(), f2.floats());
        assertEquals(NpyArray.Type.FLOAT64, d2.type());
        assertArrayEquals(new int[] {5}, d2.shape());
        assertArrayEquals(d.doubles(), d2.doubles());
    }

    @Test
    void writesTheHeaderNumpyWrites() {
        byte[] b = Npy.toBytes(NpyArray.ofFloats(new int[] {1, 3, 2, 2}, new float[12]));
        // numpy.save of np.zeros((1, 3, 2, 2), np.float32), version 1.0, header padded to 64 bytes.
        String header = new String(b, 10, 118, StandardCharsets.ISO_8859_1);
        assertEquals("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 2, 2), }", header.strip());
        assertEquals(1, b[6]);
        assertEquals(0, (10 + 118) % 64);
        assertEquals(128 + 48, b.length);
        assertEquals('\n', header.charAt(header.length() - 1));
        assertTrue(new String(Npy.toBytes(NpyArray.ofDoubles(new int[] {4}, new double[4])), StandardCharsets.ISO_8859_1).contains("'shape': (4,)"));
    }

    @Test
    void readsVersion2Headers() {
        String dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 1), }";
        byte[] b = npy(2, dict, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putDouble(1.5).putDouble(-2).array());
        NpyArray a = Npy.parse(b);
        assertArrayEquals(new int[] {2, 1}, a.shape());
        assertArrayEquals(new double[] {1.5, -2}, a.doubles());
    }

    @Test
    void readsTheGoldenFiles() throws IOException {
        NpyArray in = Npy.read(Golden.input(4));
        assertEquals(NpyArray.Type.FLOAT32, in.type());
        assertArrayEquals(new int[] {4, 3, 128, 128}, in.shape());
        NpyArray out = Npy.read(Golden.output("batch", 1));
        assertEquals(NpyArray.Type.FLOAT64, out.type());
        assertArrayEquals(new int[] {1, 3, 128, 128}, out.shape());
        for (float v : in.floats()) assertTrue(v >= -1 && v <= 1, "inputs are in [-1, 1]: " + v);
    }

    @Test
    void matConversionKeepsShapeAndValues() {
        NpyArray a = NpyArray.ofDoubles(new int[] {1, 2, 2, 3}, new double[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11.25});
        try (Mat m = a.toFloatMat()) {
            assertEquals(4, m.dims());
            assertEquals(3, m.size(3));
            NpyArray back = NpyArray.of(m);
            assertEquals(NpyArray.Type.FLOAT32, back.type());
            assertArrayEquals(a.shape(), back.shape());
            assertArrayEquals(a.asFloats(), back.floats());
        }
    }

    @Test
    void unsupportedFilesAreRefusedWithTheReason() {
        byte[] data = new byte[8];
        assertMessage("magic", "PK\u0003\u0004 not numpy at all".getBytes(StandardCharsets.ISO_8859_1));
        assertMessage("'>f4' is not supported", npy(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data));
        assertMessage("'<i8' is not supported", npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", data));
        assertMessage("Fortran order", npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", data));
        assertMessage("needs 16 bytes, the file has 8", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", data));
        assertMessage("version 9.0", npy(9, "{}", data));
    }

    @Test
    void extentsWhoseProductPassesTheLongRangeAreRefusedInsteadOfWrapping() {
        // 2^16 four times is 2^64: a long product wraps to 0 and matched the 0 data bytes, then OpenCV copied 2^64 floats.
        assertMessage("too many for one array", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536, 65536, 65536), }",
                new byte[0]));
        assertMessage("too many for one array", npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2147483647, 2147483647,"
                + " 2147483647, 2147483647, 2147483647), }", new byte[8]));
        assertMessage("too many for one array", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1073741824, 2), }", new byte[0]));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NpyArray.ofFloats(new int[] {65536, 65536, 65536, 65536}, new float[0]));
        assertTrue(e.getMessage().contains("too many"), e.getMessage());
    }

    @Test
    void anExtentOutsideTheIntRangeIsRefused() {
        assertMessage("invalid extent '4294967296'", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 1), }",
                new byte[0]));
        assertMessage("invalid extent '-1'", npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 4), }", new byte[16]));
    }

    @Test
    void aZeroSizeArrayIsReadButHasNoMatForm() {
        for (String shape : new String[] {"(0, 3, 4, 4)", "(2, 3, 0, 4)"}) {
            NpyArray a = Npy.parse(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }", new byte[0]));
            assertEquals(0, a.size());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, a::toFloatMat);
            assertTrue(e.getMessage().contains("has no elements; expected every extent >= 1"), e.getMessage());
        }
    }

    @Test
    void aMatFormNeedsOneToThirtyTwoDimensions() {
        NpyArray scalar = NpyArray.ofFloats(new int[0], new float[] {1});
        assertTrue(assertThrows(IllegalArgumentException.class, scalar::toFloatMat).getMessage().contains("0-D"));
        int[] shape = new int[33];
        java.util.Arrays.fill(shape, 1);
        NpyArray deep = NpyArray.ofFloats(shape, new float[] {1});
        assertTrue(assertThrows(IllegalArgumentException.class, deep::toFloatMat).getMessage().contains("33 dimensions"));
    }

    private static void assertMessage(String expected, byte[] bytes) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Npy.parse(bytes));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    private static byte[] npy(int major, String dict, byte[] data) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        byte[] h = (dict + "\n").getBytes(StandardCharsets.ISO_8859_1);
        if (major == 1) o.writeBytes(ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort((short) h.length).array());
        else o.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(h.length).array());
        o.writeBytes(h);
        o.writeBytes(data);
        return o.toByteArray();
    }
}
