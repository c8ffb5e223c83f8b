package dev.samplenorm.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and writes NumPy {@code .npy} files holding little-endian float32 ({@code <f4}) or float64
 * ({@code <f8}) arrays in C order: format versions 1.0, 2.0 and 3.0 are read, 1.0 is written (2.0
 * when the header needs it). Anything else (big-endian, Fortran order, other element types,
 * object arrays) is refused with a message naming what was expected.
 */
public final class Npy {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("['\"]descr['\"]\\s*:\\s*['\"]([^'\"]*)['\"]");
    private static final Pattern FORTRAN = Pattern.compile("['\"]fortran_order['\"]\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("['\"]shape['\"]\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {}

    public static NpyArray read(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        try {
            return parse(Files.readAllBytes(path));
        } catch (IllegalArgumentException e) {
            throw new IOException(path + ": " + e.getMessage(), e);
        }
    }

    /**
     * Parses the bytes of an {@code .npy} file.
     *
     * @throws IllegalArgumentException if they are not a supported {@code .npy} array
     */
    public static NpyArray parse(byte[] bytes) {
        Objects.requireNonNull(bytes, "bytes");
        if (bytes.length < 10 || !startsWithMagic(bytes)) {
            throw new IllegalArgumentException("not an .npy file: expected the magic bytes \\x93NUMPY at the start");
        }
        int major = bytes[6] & 0xff, minor = bytes[7] & 0xff;
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long headerLen;
        int headerStart;
        if (major == 1) {
            headerLen = b.getShort(8) & 0xffff;
            headerStart = 10;
        } else if (major == 2 || major == 3) {
            if (bytes.length < 12) throw new IllegalArgumentException("truncated .npy file: no room for the version " + major + " header length");
            headerLen = b.getInt(8) & 0xffffffffL;
            headerStart = 12;
        } else {
            throw new IllegalArgumentException("unsupported .npy format version " + major + "." + minor + "; expected 1.0, 2.0 or 3.0");
        }
        if (headerStart + headerLen > bytes.length) {
            throw new IllegalArgumentException("truncated .npy file: the header claims " + headerLen + " bytes, the file has "
                    + (bytes.length - headerStart) + " after the preamble");
        }
        String header = new String(bytes, headerStart, (int) headerLen, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        NpyArray.Type type = type(header);
        int[] shape = shape(header);
        long n = NpyArray.elements(shape);
        int dataStart = headerStart + (int) headerLen;
        long need = n * type.bytes; // n <= Integer.MAX_VALUE - 8, so this cannot overflow
        if (bytes.length - dataStart != need) {
            throw new IllegalArgumentException(".npy data size mismatch: shape " + java.util.Arrays.toString(shape) + " of " + type
                    + " needs " + need + " bytes, the file has " + (bytes.length - dataStart));
        }
        b.position(dataStart);
        if (type == NpyArray.Type.FLOAT32) {
            float[] d = new float[(int) n];
            b.asFloatBuffer().get(d);
            return NpyArray.ofFloats(shape, d);
        }
        double[] d = new double[(int) n];
        b.asDoubleBuffer().get(d);
        return NpyArray.ofDoubles(shape, d);
    }

    private static boolean startsWithMagic(byte[] bytes) {
        for (int i = 0; i < MAGIC.length; i++) if (bytes[i] != MAGIC[i]) return false;
        return true;
    }

    private static NpyArray.Type type(String header) {
        Matcher m = DESCR.matcher(header);
        if (!m.find()) throw new IllegalArgumentException(".npy header has no 'descr': " + header.strip());
        String d = m.group(1);
        Matcher f = FORTRAN.matcher(header);
        if (!f.find()) throw new IllegalArgumentException(".npy header has no 'fortran_order': " + header.strip());
        if (f.group(1).equals("True")) {
            throw new IllegalArgumentException(".npy array is in Fortran order; expected C order (numpy.ascontiguousarray)");
        }
        switch (d) {
            case "<f4":
                return NpyArray.Type.FLOAT32;
            case "<f8":
                return NpyArray.Type.FLOAT64;
            default:
                throw new IllegalArgumentException(".npy element type '" + d + "' is not supported; expected little-endian float32"
                        + " ('<f4') or float64 ('<f8')");
        }
    }

    private static int[] shape(String header) {
        Matcher m = SHAPE.matcher(header);
        if (!m.find()) throw new IllegalArgumentException(".npy header has no 'shape' tuple: " + header.strip());
        List<Integer> dims = new ArrayList<>();
        for (String part : m.group(1).split(",")) {
            String p = part.strip();
            if (p.isEmpty()) continue;
            if (p.endsWith("L")) p = p.substring(0, p.length() - 1); // Python 2 longs
            try {
                long v = Long.parseLong(p);
                if (v < 0 || v > Integer.MAX_VALUE) throw new NumberFormatException();
                dims.add((int) v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(".npy shape has an invalid extent '" + part.strip() + "' in (" + m.group(1) + ")");
            }
        }
        int[] s = new int[dims.size()];
        for (int i = 0; i < s.length; i++) s[i] = dims.get(i);
        return s;
    }

    public static void write(Path path, NpyArray array) throws IOException {
        Objects.requireNonNull(path, "path");
        Files.write(path, toBytes(array));
    }

    /** The bytes of an {@code .npy} file holding {@code array}. */
    public static byte[] toBytes(NpyArray array) {
        Objects.requireNonNull(array, "array");
        StringBuilder shape = new StringBuilder("(");
        int[] s = array.shape();
        for (int i = 0; i < s.length; i++) {
            shape.append(s[i]);
            if (s.length == 1 || i < s.length - 1) shape.append(s.length == 1 ? "," : ", ");
        }
        shape.append(')');
        String dict = "{'descr': '" + array.type().descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
        // The preamble plus header is padded with spaces to a multiple of 64 bytes and ends in '\n'.
        int preamble = 10;
        int total = preamble + dict.length() + 1;
        int major = 1;
        if (roundUp(total) - preamble > 0xffff) {
            major = 2;
            preamble = 12;
            total = preamble + dict.length() + 1;
        }
        int headerLen = roundUp(total) - preamble;
        StringBuilder header = new StringBuilder(dict);
        while (header.length() < headerLen - 1) header.append(' ');
        header.append('\n');

        long dataBytes = (long) array.size() * array.type().bytes;
        if (preamble + headerLen + dataBytes > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("array too large for one byte[]");
        ByteBuffer b = ByteBuffer.allocate((int) (preamble + headerLen + dataBytes)).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) major).put((byte) 0);
        if (major == 1) b.putShort((short) headerLen);
        else b.putInt(headerLen);
        b.put(header.toString().getBytes(StandardCharsets.ISO_8859_1));
        if (array.floats() != null) b.asFloatBuffer().put(array.floats());
        else b.asDoubleBuffer().put(array.doubles());
        return b.array();
    }

    private static int roundUp(int n) {
        return (n + 63) / 64 * 64;
    }
}
