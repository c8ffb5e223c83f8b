package dev.samplenorm.cli;

import dev.samplenorm.SampleNormException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code samplenorm} command line: translate, demo, info; make-model and bench for development (not listed). */
@Command(name = "samplenorm", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Pix2Pix-style generators on OpenCV DNN with train-mode BatchNorm statistics.",
        subcommands = {TranslateCommand.class, DemoCommand.class, InfoCommand.class, ServeCommand.class, MakeModelCommand.class, BenchCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    /** Exit code for a mistake the user can fix: bad option, missing file, no CUDA device. */
    public static final int USER_ERROR = 2;
    /** Exit code for a failure inside samplenorm. */
    public static final int INTERNAL_ERROR = 1;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "expected a command: translate, demo or info");
    }

    public static void main(String[] args) {
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the CLI with the given streams and returns the exit code (for tests and embedding). */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out).setErr(err);
        cl.setParameterExceptionHandler((ex, a) -> {
            CommandLine c = ex.getCommandLine();
            c.getErr().println("samplenorm: error: " + ex.getMessage() + " (see '" + c.getCommandSpec().qualifiedName() + " --help')");
            return USER_ERROR;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            boolean verbose = isVerbose(parsed);
            Throwable t = ex instanceof UncheckedIOException u ? u.getCause() : ex;
            String message = userMessage(t);
            if (message != null) {
                c.getErr().println("samplenorm: error: " + message);
                if (verbose) ex.printStackTrace(c.getErr());
                return USER_ERROR;
            }
            c.getErr().println("samplenorm: internal error: " + t + (verbose ? "" : " (run with --verbose for details)"));
            if (verbose) ex.printStackTrace(c.getErr());
            return INTERNAL_ERROR;
        });
        return cl.execute(args);
    }

    /** The one-line message of an error the user can act on, or null for an internal failure. */
    static String userMessage(Throwable t) {
        if (t instanceof UserError || t instanceof IllegalArgumentException) return t.getMessage();
        if (t instanceof NoSuchFileException e) return "file not found: " + e.getFile();
        if (t instanceof IOException) return t.getMessage();
        if (t instanceof SampleNormException e) {
            return switch (e.code()) {
                case NO_CUDA_DEVICE, BUILT_WITHOUT_CUDA, MODEL, ENGINE_UNAVAILABLE -> e.getMessage();
                default -> null;
            };
        }
        return null;
    }

    private static boolean isVerbose(CommandLine.ParseResult parsed) {
        for (CommandLine.ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--verbose")) return true;
        }
        return false;
    }

    /** Version from the jar manifest, or "development" when run from classes. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"samplenorm " + (v == null ? "(development build)" : v)};
        }
    }
}
