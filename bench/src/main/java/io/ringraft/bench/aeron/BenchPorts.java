package io.ringraft.bench.aeron;

import io.ringraft.transport.aeron.FreePorts;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Helpers shared by the Aeron benchmarks: free ports, child JVMs, their output. */
public final class BenchPorts
{
    private BenchPorts()
    {
    }

    /** @return a UDP port on the loopback address that was free a moment ago ({@link FreePorts#udpPort()}) */
    public static int freePort()
    {
        return FreePorts.udpPort();
    }

    static Process startJvm(final Class<?> main, final List<String> args) throws IOException
    {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(ProcessHandle.current().info().arguments().map(a -> jvmOptions(a)).orElse(List.of()));
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(main.getName());
        command.addAll(args);
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    /** The JVM options of this process (everything before the class path), for its child. */
    private static List<String> jvmOptions(final String[] arguments)
    {
        final List<String> options = new ArrayList<>();
        for (final String a : arguments)
        {
            if (a.equals("-cp") || a.equals("-classpath") || a.equals("-jar") || !a.startsWith("-"))
            {
                break;
            }
            options.add(a);
        }
        return options;
    }

    static String awaitLine(final Process process, final String prefix) throws IOException
    {
        final BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null)
        {
            if (line.startsWith(prefix))
            {
                return line;
            }
            System.out.println("child: " + line);
        }
        throw new IllegalStateException("child exited before saying " + prefix);
    }

    /** Halts this JVM when stdin closes (its parent is gone), so no child outlives a broken run. */
    static Thread exitOnStdinEof()
    {
        final Thread thread = new Thread(() ->
        {
            try
            {
                while (System.in.read() >= 0)
                {
                    Thread.onSpinWait();
                }
            }
            catch (final IOException ignore)
            {
                // Treated as end of input.
            }
            Runtime.getRuntime().halt(2);
        }, "stdin-watchdog");
        thread.setDaemon(true);
        thread.start();
        return thread;
    }
}
