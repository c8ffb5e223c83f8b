package dev.samplenorm.docs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's complete Java example compiles against the library as it is. */
class ReadmeExampleTest {

    @Test
    void theJavaApiExampleCompiles(@TempDir Path dir) throws IOException {
        compiles(dir, "Translate");
    }

    @Test
    void theServingExampleCompiles(@TempDir Path dir) throws IOException {
        compiles(dir, "Serve");
    }

    private static void compiles(Path dir, String className) throws IOException {
        String readme = Files.readString(Path.of("README.md"));
        Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(readme);
        String example = null;
        while (m.find()) {
            if (m.group(1).contains("public class " + className + " ")) example = m.group(1);
        }
        assertTrue(example != null, "README has a complete example class " + className);
        Path source = Files.writeString(dir.resolve(className + ".java"), example);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        StringWriter diagnostics = new StringWriter();
        boolean ok = javac.getTask(diagnostics, null, null,
                List.of("-classpath", System.getProperty("java.class.path"), "-d", dir.toString()), null,
                javac.getStandardFileManager(null, null, null).getJavaFileObjects(source)).call();
        assertTrue(ok, "README example does not compile:\n" + diagnostics);
        assertEquals(true, Files.exists(dir.resolve(className + ".class")));
    }
}
