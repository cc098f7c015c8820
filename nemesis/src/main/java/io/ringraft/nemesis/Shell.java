package io.ringraft.nemesis;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the system commands the nemesis needs ({@code ip}, {@code nft}, {@code tc}, {@code kill}), one at a time. */
final class Shell
{
    /** What a command printed and how it exited. */
    record Result(int status, String output)
    {
        boolean ok()
        {
            return status == 0;
        }
    }

    private Shell()
    {
    }

    /** Runs a command and waits (at most 60 s) for it; never throws for a failing command. */
    static Result run(final List<String> command, final String stdin)
    {
        try
        {
            final Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            if (stdin != null)
            {
                p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
            }
            p.getOutputStream().close();
            final byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS))
            {
                p.destroyForcibly();
                return new Result(-1, "timed out: " + String.join(" ", command));
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8).trim());
        }
        catch (final IOException ex)
        {
            return new Result(-1, ex.getMessage());
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return new Result(-1, "interrupted");
        }
    }

    /** Runs a command given as words. */
    static Result run(final String... command)
    {
        return run(Arrays.asList(command), null);
    }

    /** Runs a command that must succeed. */
    static String check(final String... command)
    {
        final Result r = run(command);
        if (!r.ok())
        {
            throw new IllegalStateException(String.join(" ", command) + " failed (" + r.status() + "): " + r.output());
        }
        return r.output();
    }

    /** @return true if the program is on the PATH */
    static boolean onPath(final String program)
    {
        for (final String dir : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":"))
        {
            if (new java.io.File(dir, program).canExecute())
            {
                return true;
            }
        }
        for (final String dir : List.of("/usr/sbin", "/sbin"))
        {
            if (new java.io.File(dir, program).canExecute())
            {
                return true;
            }
        }
        return false;
    }

    /** @return the words, for building a command */
    static List<String> words(final String... words)
    {
        return new ArrayList<>(Arrays.asList(words));
    }
}
