package io.ringraft.nemesis;

import io.ringraft.transport.aeron.FreePorts;
import io.ringraft.server.LocalCluster;
import io.ringraft.server.NodeConfig;
import io.ringraft.server.RingraftMain;
import io.ringraft.server.RingraftNode;
import org.agrona.IoUtil;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The node processes of a run: {@code ringraft node --config FILE}, one JVM each, started in the
 * node's network (its namespace), with its output in {@code node-N.log} of the report directory.
 * Kills ({@code SIGKILL}), pauses ({@code SIGSTOP}/{@code SIGCONT}) and restarts on the same data;
 * an exit this class did not cause is recorded as a crash.
 */
final class NodeProcesses implements AutoCloseable
{
    static final int RAFT_PORT = 9001;
    static final int CLIENT_PORT = 9101;
    private static final long START_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(90);

    private final NetworkLab lab;
    private final Path dataRoot;
    private final Path logDir;
    private final Map<Long, NodeConfig> configs = new TreeMap<>();
    private final Map<Long, Path> configFiles = new TreeMap<>();
    private final Map<Long, Process> running = new TreeMap<>();
    private final Map<Long, Boolean> paused = new TreeMap<>();
    private final List<String> crashes = new ArrayList<>();
    private final List<String> jvmFlags;
    private final java.util.Set<Long> joining = new java.util.HashSet<>();
    private final Thread hook = new Thread(this::killAll, "ringraft-nemesis-node-cleanup");

    /**
     * Writes every node's config file.
     *
     * @param lab      where the nodes run
     * @param nodes    how many
     * @param dataRoot where their data directories go
     * @param logDir   where their output goes
     * @param extra    further settings for every node (election timeout, planted bug)
     * @param jvmFlags further JVM flags for every node
     */
    NodeProcesses(final NetworkLab lab, final int nodes, final Path dataRoot, final Path logDir, final Map<String, String> extra,
        final List<String> jvmFlags)
    {
        this.jvmFlags = List.copyOf(jvmFlags);
        this.lab = lab;
        this.dataRoot = dataRoot;
        this.logDir = logDir;
        final Map<String, String> common = new LinkedHashMap<>();
        common.put("cluster.id", "15");
        for (long id = 1; id <= nodes; id++)
        {
            final String host = lab.host(id);
            final int raft = lab instanceof LoopbackLab ? FreePorts.udpPort() : RAFT_PORT;
            final int client = lab instanceof LoopbackLab ? FreePorts.udpPort() : CLIENT_PORT;
            common.put("member." + id, host + ":" + raft + " " + host + ":" + client);
        }
        common.put("data.dir", dataRoot.resolve("node-{id}").toString());
        common.put("durability", "BATCH");
        // Threading and idle strategy: the node's defaults (on small machines one thread per node that sleeps on its
        // driver's sockets), so the faults hit the layout users run.
        common.putAll(extra);
        try
        {
            Files.createDirectories(dataRoot);
            Files.createDirectories(logDir);
            for (long id = 1; id <= nodes; id++)
            {
                final Map<String, String> settings = new LinkedHashMap<>(common);
                settings.put("node.id", Long.toString(id));
                // The SLOW_DISK fault's switch: the node reads it every 100 ms (absent: no delay).
                settings.put(NodeConfig.STORAGE_SYNC_DELAY_FILE, syncDelayFile(id).toString());
                final NodeConfig config = NodeConfig.of(settings, "node " + id, null);
                final Path file = dataRoot.resolve("node-" + id + ".conf");
                Files.writeString(file, config.render(), StandardCharsets.UTF_8);
                configs.put(id, config);
                configFiles.put(id, file);
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        Runtime.getRuntime().addShutdownHook(hook);
    }

    private Path syncDelayFile(final long id)
    {
        return dataRoot.resolve("node-" + id + ".sync-delay-ms");
    }

    /**
     * Sets node {@code id}'s extra delay before every log sync (a slow disk) through its
     * {@code storage.sync.delay.file}, and waits until the node's output says it applied it.
     *
     * @param id        the node
     * @param ms        the delay, 0 for none
     * @param timeoutMs how long to wait for the node to confirm it
     * @return how long the node took to confirm it in milliseconds, or -1 if it did not within the timeout
     */
    long syncDelay(final long id, final long ms, final long timeoutMs)
    {
        final Path log = logDir.resolve("node-" + id + ".log");
        final Path file = syncDelayFile(id);
        final Path next = file.resolveSibling(file.getFileName() + ".next");
        final long start = System.nanoTime();
        try
        {
            final long from = Files.exists(log) ? Files.size(log) : 0;
            // Replaced in one step: the node never reads a half-written number.
            Files.writeString(next, ms + "\n", StandardCharsets.UTF_8);
            Files.move(next, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            // What the node prints when it applied a change (io.ringraft.server.SyncDelayFile).
            final String applied = "storage sync delay " + ms + " ms";
            final long deadline = start + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
            while (System.nanoTime() < deadline)
            {
                if (outputSince(log, from).contains(applied))
                {
                    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                }
                Thread.sleep(20);
            }
            return -1;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot set node " + id + "'s sync delay in " + file, ex);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static String outputSince(final Path log, final long from) throws IOException
    {
        try (java.io.RandomAccessFile in = new java.io.RandomAccessFile(log.toFile(), "r"))
        {
            final long length = in.length();
            if (length <= from)
            {
                return "";
            }
            final byte[] bytes = new byte[(int)Math.min(length - from, 1 << 20)];
            in.seek(from);
            in.readFully(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    /** @return the node ids */
    List<Long> ids()
    {
        return new ArrayList<>(configs.keySet());
    }

    /** @return every node's data directory, by id */
    Map<Long, Path> dataDirs()
    {
        final Map<Long, Path> result = new TreeMap<>();
        configs.forEach((id, c) -> result.put(id, c.dataDir().toAbsolutePath()));
        return result;
    }

    /** @return node {@code id}'s Raft endpoint */
    String raftEndpoint(final long id)
    {
        return configs.get(id).self().raftEndpoint();
    }

    /** @return every node's client endpoint */
    Map<Long, String> clientEndpoints()
    {
        return configs.values().iterator().next().clientEndpoints();
    }

    /** Starts node {@code id} on its data and waits until it runs (other calls proceed meanwhile). */
    void start(final long id)
    {
        final NodeConfig config = configs.get(id);
        final Path dataDir = config.dataDir().toAbsolutePath();
        final Path log = logDir.resolve("node-" + id + ".log");
        final Process child = spawn(id, config, dataDir, log);
        final long deadline = System.nanoTime() + START_TIMEOUT_NS;
        while (true)
        {
            final RingraftNode.PidFile pid = RingraftNode.readPidFile(dataDir);
            if (pid != null && pid.pid() == child.pid())
            {
                return;
            }
            if (!child.isAlive() || System.nanoTime() > deadline)
            {
                synchronized (this)
                {
                    if (running.get(id) != child)
                    {
                        return; // killed by the nemesis while it started
                    }
                    child.destroyForcibly();
                    running.remove(id, child);
                }
                throw new IllegalStateException("node " + id + " did not start: " + lastLine(log) + " (its output is in " + log + ")");
            }
            try
            {
                Thread.sleep(20);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while starting node " + id, ex);
            }
        }
    }

    private synchronized Process spawn(final long id, final NodeConfig config, final Path dataDir, final Path log)
    {
        if (running.containsKey(id))
        {
            throw new IllegalStateException("node " + id + " runs already");
        }
        final List<String> command = new ArrayList<>(lab.launchPrefix(id));
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(LocalCluster.jvmFlags());
        command.addAll(jvmFlags);
        command.addAll(List.of("-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp",
            System.getProperty("java.class.path"), RingraftMain.class.getName(), "node", "--config", configFiles.get(id).toString()));
        if (joining.contains(id))
        {
            command.add("--join");
        }
        try
        {
            Files.deleteIfExists(dataDir.resolve(RingraftNode.PID_FILE));
            final Process child = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            running.put(id, child);
            paused.put(id, false);
            return child;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    /** Kills node {@code id} with SIGKILL (continuing it first if paused) and removes its media driver directory. */
    synchronized void kill(final long id)
    {
        final Process child = running.remove(id);
        if (child == null)
        {
            return;
        }
        child.destroyForcibly();
        if (Boolean.TRUE.equals(paused.get(id)))
        {
            signal(child.pid(), "CONT");
        }
        paused.put(id, false);
        try
        {
            child.waitFor(20, TimeUnit.SECONDS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        final RingraftNode.PidFile pid = RingraftNode.readPidFile(configs.get(id).dataDir().toAbsolutePath());
        if (pid != null && !pid.alive() && pid.aeronDir() != null)
        {
            IoUtil.delete(new File(pid.aeronDir()), true);
        }
    }

    /**
     * Empties the data directory of node {@code id}, which must not run: it starts again as a new
     * node that joins the running cluster ({@code --join}) until {@link #joined} says it was added.
     */
    synchronized void replaceDisk(final long id)
    {
        if (running.containsKey(id))
        {
            throw new IllegalStateException("node " + id + " runs: its data cannot be replaced");
        }
        final Path dataDir = configs.get(id).dataDir().toAbsolutePath();
        IoUtil.delete(dataDir.toFile(), true);
        try
        {
            Files.createDirectories(dataDir);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        joining.add(id);
    }

    /** Node {@code id} was added to the cluster: from now on it starts on its data without {@code --join}. */
    synchronized void joined(final long id)
    {
        joining.remove(id);
    }

    /** Stops node {@code id} with SIGSTOP. */
    synchronized void pause(final long id)
    {
        final Process child = running.get(id);
        if (child != null && !paused.get(id))
        {
            signal(child.pid(), "STOP");
            paused.put(id, true);
        }
    }

    /** Continues node {@code id} with SIGCONT. */
    synchronized void resume(final long id)
    {
        final Process child = running.get(id);
        if (child != null && paused.get(id))
        {
            signal(child.pid(), "CONT");
            paused.put(id, false);
        }
    }

    /** @return true if node {@code id} runs (paused or not) */
    synchronized boolean isRunning(final long id)
    {
        return running.containsKey(id);
    }

    /**
     * Notes every node that exited although nothing killed it.
     *
     * @param atSeconds the run's clock, for the message
     */
    synchronized void checkForCrashes(final double atSeconds)
    {
        for (final Map.Entry<Long, Process> e : new ArrayList<>(running.entrySet()))
        {
            if (!e.getValue().isAlive())
            {
                crashes.add(String.format(java.util.Locale.ROOT, "node %d exited by itself with status %d at %.1f s (see node-%d.log)",
                    e.getKey(), e.getValue().exitValue(), atSeconds, e.getKey()));
                running.remove(e.getKey());
            }
        }
    }

    /** @return the exits nothing caused */
    synchronized List<String> crashes()
    {
        return new ArrayList<>(crashes);
    }

    /** Stops every node with SIGTERM (continuing paused ones), then SIGKILL if one lingers. */
    @Override
    public synchronized void close()
    {
        for (final Map.Entry<Long, Process> e : running.entrySet())
        {
            if (Boolean.TRUE.equals(paused.get(e.getKey())))
            {
                signal(e.getValue().pid(), "CONT");
            }
            e.getValue().destroy();
        }
        for (final long id : new ArrayList<>(running.keySet()))
        {
            final Process child = running.get(id);
            try
            {
                if (!child.waitFor(15, TimeUnit.SECONDS))
                {
                    kill(id);
                }
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                kill(id);
            }
            running.remove(id);
        }
        try
        {
            Runtime.getRuntime().removeShutdownHook(hook);
        }
        catch (final IllegalStateException ex)
        {
            // exiting: the hook runs
        }
        IoUtil.delete(dataRoot.toFile(), true);
    }

    private void killAll()
    {
        for (final long id : new ArrayList<>(running.keySet()))
        {
            kill(id);
        }
        IoUtil.delete(dataRoot.toFile(), true);
    }

    private static String lastLine(final Path log)
    {
        try
        {
            final List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            for (int i = lines.size() - 1; i >= 0; i--)
            {
                if (!lines.get(i).isBlank())
                {
                    return lines.get(i).trim();
                }
            }
            return "no output";
        }
        catch (final IOException ex)
        {
            return "its output cannot be read (" + ex.getMessage() + ")";
        }
    }

    private static void signal(final long pid, final String signal)
    {
        final Shell.Result r = Shell.run("kill", "-" + signal, Long.toString(pid));
        if (!r.ok())
        {
            throw new IllegalStateException("kill -" + signal + " " + pid + " failed: " + r.output());
        }
    }

}
