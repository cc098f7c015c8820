package io.ringraft.server;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/** Runs a {@code ringraft} command in this JVM and captures its exit status and output. */
final class Cli
{
    record Result(int status, String out, String err)
    {
        /** @return the non-empty lines of stderr */
        List<String> errLines()
        {
            return Arrays.stream(err.split("\\R")).filter(l -> !l.isBlank()).toList();
        }

        @Override
        public String toString()
        {
            return "exit " + status + "\nstdout:\n" + out + "\nstderr:\n" + err;
        }
    }

    private Cli()
    {
    }

    static synchronized Result run(final String... args)
    {
        final PrintStream oldOut = System.out;
        final PrintStream oldErr = System.err;
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final ByteArrayOutputStream err = new ByteArrayOutputStream();
        final int status;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
            PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8))
        {
            System.setOut(o);
            System.setErr(e);
            status = RingraftMain.run(args);
        }
        finally
        {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        final Result result = new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        oldOut.println("ringraft " + String.join(" ", args) + " -> " + result);
        return result;
    }
}
