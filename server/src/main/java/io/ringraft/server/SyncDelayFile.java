package io.ringraft.server;

import org.agrona.concurrent.Agent;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.function.LongConsumer;

/**
 * A slow disk switched on and off while a node runs, for fault-injection runs: the config's
 * {@code storage.sync.delay.file} names a file holding a number of milliseconds, which replaces
 * {@code storage.sync.delay.ms} as the extra delay before every log sync for as long as the file
 * says so. A missing or blank file means the config's {@code storage.sync.delay.ms}. Every change
 * that takes effect is printed ({@link #APPLIED_PREFIX}); a file that does not hold a delay is
 * reported once, naming the setting and its content, and the delay stays as it was.
 * <p>
 * An agent for its own {@link org.agrona.concurrent.AgentRunner} with a sleeping idle strategy:
 * each duty cycle reads the file once (a few bytes), never on the node's hot path.
 */
final class SyncDelayFile implements Agent
{
    /** What each applied change prints first, followed by the delay in milliseconds. */
    static final String APPLIED_PREFIX = "storage sync delay ";

    private final long nodeId;
    private final Path file;
    private final long defaultMs;
    private final LongConsumer applyNanos;
    private final PrintStream out;
    private long appliedMs;
    private String lastProblem;

    /**
     * @param nodeId     the node, for the printed lines
     * @param file       the file to watch
     * @param defaultMs  the config's {@code storage.sync.delay.ms}, in force when the file is missing or blank
     * @param applyNanos sets the storage's sync delay, in nanoseconds
     * @param out        where applied changes and problems are printed
     */
    SyncDelayFile(final long nodeId, final Path file, final long defaultMs, final LongConsumer applyNanos, final PrintStream out)
    {
        this.nodeId = nodeId;
        this.file = file;
        this.defaultMs = defaultMs;
        this.applyNanos = applyNanos;
        this.out = out;
        this.appliedMs = defaultMs;
    }

    @Override
    public int doWork()
    {
        final long wanted = read();
        if (wanted < 0 || wanted == appliedMs)
        {
            return 0;
        }
        applyNanos.accept(wanted * 1_000_000L);
        appliedMs = wanted;
        out.println("ringraft node " + nodeId + ": " + APPLIED_PREFIX + wanted + " ms (" + NodeConfig.STORAGE_SYNC_DELAY_FILE + "=" +
            file + ")");
        return 1;
    }

    /** @return the delay the file asks for in milliseconds, or -1 if it holds none (reported once) */
    private long read()
    {
        final String text;
        try
        {
            text = Files.readString(file, StandardCharsets.UTF_8).trim();
        }
        catch (final NoSuchFileException ex)
        {
            return defaultMs;
        }
        catch (final IOException ex)
        {
            return problem("cannot be read (" + ex + ")");
        }
        if (text.isEmpty())
        {
            return defaultMs;
        }
        try
        {
            final long ms = Long.parseLong(text);
            if (ms >= 0 && ms <= NodeConfig.MAX_SYNC_DELAY_MS)
            {
                lastProblem = null;
                return ms;
            }
        }
        catch (final NumberFormatException ex)
        {
            // reported below
        }
        return problem("holds \"" + (text.length() > 40 ? text.substring(0, 40) + "..." : text) + "\", not a delay in milliseconds (0.." +
            NodeConfig.MAX_SYNC_DELAY_MS + ")");
    }

    private long problem(final String what)
    {
        if (!what.equals(lastProblem))
        {
            lastProblem = what;
            out.println("ringraft node " + nodeId + ": " + NodeConfig.STORAGE_SYNC_DELAY_FILE + "=" + file + " " + what + ": the delay stays " +
                appliedMs + " ms");
        }
        return -1;
    }

    @Override
    public String roleName()
    {
        return "ringraft-node-" + nodeId + "-sync-delay-file";
    }

    /** @return the delay in force, in milliseconds: for tests */
    long appliedMs()
    {
        return appliedMs;
    }
}
