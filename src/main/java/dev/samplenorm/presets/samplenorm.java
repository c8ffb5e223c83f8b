package dev.samplenorm.presets;

import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;
import org.bytedeco.javacpp.tools.Info;
import org.bytedeco.javacpp.tools.InfoMap;
import org.bytedeco.javacpp.tools.InfoMapper;

/**
 * JavaCPP presets for the native kernel library ({@code src/main/cpp/include/samplenorm/samplenorm.h}).
 * The parser turns that header into {@code dev.samplenorm.global.samplenorm}; the compiler then
 * builds one JNI library per variant: the CPU variant, and the {@code -gpu} variant linked with the
 * CUDA runtime. At run time the Loader tries the {@code -gpu} variant first and falls back to the
 * CPU variant where {@code libcudart.so.13} cannot be loaded.
 */
@Properties(
        target = "dev.samplenorm.global.samplenorm",
        value = {
            @Platform(
                    value = {"linux-x86_64", "linux-arm64"},
                    compiler = "cpp17",
                    include = "samplenorm/samplenorm.h",
                    link = "samplenorm"),
            @Platform(
                    value = {"linux-x86_64", "linux-arm64"},
                    extension = "-gpu",
                    compiler = "cpp17",
                    include = "samplenorm/samplenorm.h",
                    // The Builder emits -l flags in reverse order: the static kernel archive
                    // must precede the CUDA runtime on the link line.
                    link = {"cudart@.13", "samplenorm"},
                    linkpath = {"/usr/local/cuda/lib64/", "/usr/local/cuda/lib/"},
                    preloadpath = {"/usr/local/cuda/lib64/", "/usr/local/cuda/lib/"})
        })
public class samplenorm implements InfoMapper {
    @Override
    public void map(InfoMap infoMap) {
        infoMap.put(new Info("SAMPLENORM_SAMPLENORM_H").cppTypes().annotations())
                .put(new Info("uint8_t").cast().valueTypes("byte").pointerTypes("BytePointer"))
                .put(new Info("const uint8_t*const*", "uint8_t*const*").cast().pointerTypes("PointerPointer"));
    }
}
