package io.ringraft.bench;

import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The benchmarks' entry point: JMH's command line, with the JVM flags of the parent pom's
 * {@code ringraft.jvmFlags} (filtered into the {@code jvm.options} resource) appended to every
 * forked JVM, since Chronicle Queue cannot start without them.
 */
public final class BenchMain
{
    private BenchMain()
    {
    }

    public static void main(final String[] args) throws RunnerException, CommandLineOptionException, IOException
    {
        final CommandLineOptions commandLine = new CommandLineOptions(args);
        if (commandLine.shouldHelp() || commandLine.shouldList() || commandLine.shouldListWithParams() ||
            commandLine.shouldListProfilers() || commandLine.shouldListResultFormats())
        {
            org.openjdk.jmh.Main.main(args);
            return;
        }
        // The flags go first; -jvmArgsAppend given on the command line follows them.
        final List<String> append = new ArrayList<>(Arrays.asList(jvmFlags()));
        if (commandLine.getJvmArgsAppend().hasValue())
        {
            append.addAll(commandLine.getJvmArgsAppend().get());
        }
        final Options options = new OptionsBuilder().parent(commandLine).jvmArgsAppend(append.toArray(new String[0])).build();
        new Runner(options).run();
    }

    /** @return the JVM flags from the parent pom, one array element each */
    public static String[] jvmFlags() throws IOException
    {
        try (InputStream in = BenchMain.class.getResourceAsStream("jvm.options"))
        {
            if (in == null)
            {
                throw new IllegalStateException("jvm.options resource missing from the benchmarks jar");
            }
            final String flags = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
            if (flags.isEmpty() || flags.contains("${"))
            {
                throw new IllegalStateException("jvm.options was not filtered from ringraft.jvmFlags: '" + flags + "'");
            }
            return flags.split("\\s+");
        }
    }
}
