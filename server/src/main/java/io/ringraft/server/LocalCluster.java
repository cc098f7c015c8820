package io.ringraft.server;

import io.ringraft.transport.aeron.FreePorts;
import io.ringraft.storage.DurabilityPolicy;
import io.ringraft.transport.aeron.EmbeddedMediaDriver;
import org.agrona.IoUtil;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * A cluster on this machine, on 127.0.0.1 with free UDP ports, each node with its data directory
 * and config file under one base directory: in this JVM (all nodes sharing one embedded media
 * driver) or one child JVM per node ({@code ringraft node --config FILE}, each with its own
 * embedded driver). Used by the demo, the load generator and the tests.
 */
public final class LocalCluster implements AutoCloseable
{
    private static final long START_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(60);

    private final Path baseDir;
    private final boolean processes;
    private final Map<Long, NodeConfig> configs = new TreeMap<>();
    private final Map<Long, Path> configFiles = new TreeMap<>();
    private final Map<Long, RingraftNode> inProcess = new TreeMap<>();
    private final Map<Long, Process> children = new TreeMap<>();
    private final EmbeddedMediaDriver sharedDriver;
    private final boolean ownsBaseDir;
    private final Thread shutdownHook = new Thread(this::onJvmExit, "ringraft-local-cluster-cleanup");
    private final Map<String, String> common = new LinkedHashMap<>();
    /** Nodes added to the running cluster: started with {@code --join}. */
    private final Set<Long> joining = new HashSet<>();

    /**
     * Writes the config files of a new cluster (nothing starts yet).
     *
     * @param nodes      how many nodes
     * @param clusterId  the cluster id
     * @param baseDir    where the nodes' directories and config files go
     * @param durability the log's durability policy
     * @param processes  true for one child JVM per node
     * @param extra      further settings for every node (e.g. election.timeout.ms)
     * @param ownsBaseDir true to delete {@code baseDir} on {@link #close()} (and if the JVM exits early)
     */
    LocalCluster(final int nodes, final int clusterId, final Path baseDir, final DurabilityPolicy durability, final boolean processes,
        final Map<String, String> extra, final boolean ownsBaseDir)
    {
        this.baseDir = baseDir;
        this.processes = processes;
        this.ownsBaseDir = ownsBaseDir;
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        this.sharedDriver = processes ? null : EmbeddedMediaDriver.launch(0, 256 * 1024);
        common.put("cluster.id", Integer.toString(clusterId));
        for (long id = 1; id <= nodes; id++)
        {
            common.put("member." + id, "127.0.0.1:" + FreePorts.udpPort() + " 127.0.0.1:" + FreePorts.udpPort());
        }
        common.put("data.dir", baseDir.resolve("node-{id}").toString());
        common.put("durability", durability.name());
        // Threading and idle strategy: the node's defaults for this machine (composed on few cores, when each node
        // process has its own driver; threads around the shared driver of an in-process cluster).
        common.put("aeron.term.length", "256k");
        if (!processes)
        {
            common.put("media.driver", "external");
            common.put("aeron.dir", sharedDriver.aeronDirectoryName());
        }
        common.putAll(extra);
        try
        {
            Files.createDirectories(baseDir);
            for (long id = 1; id <= nodes; id++)
            {
                final Map<String, String> settings = new LinkedHashMap<>(common);
                settings.put("node.id", Long.toString(id));
                final NodeConfig config = NodeConfig.of(settings, "node " + id, null);
                final Path file = baseDir.resolve("node-" + id + ".conf");
                Files.writeString(file, config.render(), StandardCharsets.UTF_8);
                configs.put(id, NodeConfig.load(file, null));
                configFiles.put(id, file);
            }
        }
        catch (final IOException ex)
        {
            close();
            throw new UncheckedIOException(ex);
        }
    }

    /**
     * Writes the config of a node that joins the running cluster (nothing starts yet): new ports,
     * the members so far as its contacts, its own member line; {@link #start} runs it with
     * {@code --join}.
     *
     * @param id    a node id not used yet
     * @param extra further settings of this node alone
     * @return its config
     */
    NodeConfig addJoiner(final long id, final Map<String, String> extra)
    {
        if (configs.containsKey(id))
        {
            throw new IllegalArgumentException("node " + id + " exists already");
        }
        common.put("member." + id, "127.0.0.1:" + FreePorts.udpPort() + " 127.0.0.1:" + FreePorts.udpPort());
        final Map<String, String> settings = new LinkedHashMap<>(common);
        settings.put("node.id", Long.toString(id));
        settings.putAll(extra);
        try
        {
            final Path file = baseDir.resolve("node-" + id + ".conf");
            Files.writeString(file, NodeConfig.of(settings, "node " + id, null).render(), StandardCharsets.UTF_8);
            configs.put(id, NodeConfig.load(file, null));
            configFiles.put(id, file);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        joining.add(id);
        return configs.get(id);
    }

    /** @return the node ids */
    List<Long> ids()
    {
        return new ArrayList<>(configs.keySet());
    }

    /** @return node {@code id}'s config */
    NodeConfig config(final long id)
    {
        return configs.get(id);
    }

    /** @return node {@code id}'s config file */
    Path configFile(final long id)
    {
        return configFiles.get(id);
    }

    /** @return every node's client endpoint, by id */
    Map<Long, String> clientEndpoints()
    {
        return configs.values().iterator().next().clientEndpoints();
    }

    /** @return the media driver directory shared by the in-process nodes (clients may use it), or null */
    String sharedAeronDirectory()
    {
        return sharedDriver == null ? null : sharedDriver.aeronDirectoryName();
    }

    /** @return true if the nodes run as child processes */
    boolean processes()
    {
        return processes;
    }

    /** @return the in-process node {@code id}, or null */
    RingraftNode node(final long id)
    {
        return inProcess.get(id);
    }

    /** @return the process of node {@code id} when the nodes are child processes, or null */
    ProcessHandle childProcess(final long id)
    {
        final Process child = children.get(id);
        return child == null ? null : child.toHandle();
    }

    /** Starts every node. */
    void startAll()
    {
        for (final long id : configs.keySet())
        {
            start(id);
        }
    }

    /**
     * Starts node {@code id} (again) on its data directory; for a child process, waits until it runs.
     */
    void start(final long id)
    {
        final NodeConfig config = configs.get(id);
        if (!processes)
        {
            inProcess.put(id, RingraftNode.start(config, joining.contains(id)));
            return;
        }
        final Path dataDir = config.dataDir().toAbsolutePath();
        final Path log = baseDir.resolve("node-" + id + ".log");
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmFlags());
        command.addAll(nodeHeapFlags());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"),
            RingraftMain.class.getName(), "node", "--config", configFiles.get(id).toString()));
        if (joining.contains(id))
        {
            command.add("--join");
        }
        try
        {
            Files.deleteIfExists(dataDir.resolve(RingraftNode.PID_FILE));
            final Process child = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            children.put(id, child);
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
                    child.destroyForcibly();
                    throw new IllegalStateException("node " + id + " did not start; its output (" + log + "):\n" + tail(log));
                }
                Thread.sleep(20);
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while starting node " + id, ex);
        }
    }

    /**
     * Stops node {@code id} abruptly: SIGKILL for a child process (its media driver directory is
     * removed afterwards, as a supervisor would), a close for an in-process node.
     */
    void kill(final long id)
    {
        if (!processes)
        {
            final RingraftNode node = inProcess.remove(id);
            if (node != null)
            {
                node.close();
            }
            return;
        }
        final Process child = children.remove(id);
        if (child != null)
        {
            child.destroyForcibly();
            waitFor(child);
            removeLeftovers(id);
        }
    }

    /**
     * Stops node {@code id} cleanly (SIGTERM for a child process) and waits for it.
     *
     * @return the exit status of a child process, or 0
     */
    int stop(final long id)
    {
        if (!processes)
        {
            kill(id);
            return 0;
        }
        final Process child = children.remove(id);
        if (child == null)
        {
            return 0;
        }
        child.destroy();
        final int status = waitFor(child);
        removeLeftovers(id);
        return status;
    }

    /** @return true if node {@code id} runs */
    boolean isRunning(final long id)
    {
        return processes ? children.containsKey(id) && children.get(id).isAlive() : inProcess.containsKey(id);
    }

    /** @return the output of child node {@code id} so far */
    String output(final long id)
    {
        return tail(baseDir.resolve("node-" + id + ".log"));
    }

    /** Stops every node (children with SIGTERM, then SIGKILL if they linger) and the shared driver. */
    @Override
    public void close()
    {
        try
        {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        }
        catch (final IllegalStateException ex)
        {
            // The JVM is exiting: the hook does the cleaning.
            return;
        }
        for (final long id : new ArrayList<>(inProcess.keySet()))
        {
            try
            {
                kill(id);
            }
            catch (final RuntimeException ex)
            {
                System.err.println("ringraft: closing node " + id + ": " + ex);
            }
        }
        for (final long id : new ArrayList<>(children.keySet()))
        {
            stop(id);
        }
        if (sharedDriver != null)
        {
            sharedDriver.close();
        }
        if (ownsBaseDir)
        {
            IoUtil.delete(baseDir.toFile(), true);
        }
    }

    /** Interrupted (SIGINT, SIGTERM): no child may outlive this JVM, and nothing may stay in /dev/shm or the temp directory. */
    private void onJvmExit()
    {
        for (final Map.Entry<Long, Process> e : children.entrySet())
        {
            e.getValue().destroyForcibly();
            waitFor(e.getValue());
            removeLeftovers(e.getKey());
        }
        if (sharedDriver != null)
        {
            IoUtil.delete(new File(sharedDriver.aeronDirectoryName()), true);
        }
        if (ownsBaseDir)
        {
            IoUtil.delete(baseDir.toFile(), true);
        }
    }

    /** @return the JVM flags for child JVMs: the build's {@code ringraft.jvmFlags} (tests) or the jar's jvm.options */
    public static List<String> jvmFlags()
    {
        return flags("ringraft.jvmFlags", "/jvm.options");
    }

    /**
     * @return the heap and collector of a node process, as the launcher gives {@code ringraft node}: the build's
     * {@code ringraft.nodeHeapFlags} (from the parent pom, in the jar's node-heap.options)
     */
    public static List<String> nodeHeapFlags()
    {
        return flags("ringraft.nodeHeapFlags", "/node-heap.options");
    }

    private static List<String> flags(final String property, final String resource)
    {
        String flags = System.getProperty(property);
        if (flags == null || flags.isBlank())
        {
            try (InputStream in = LocalCluster.class.getResourceAsStream(resource))
            {
                flags = in == null ? "" : new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            catch (final IOException ex)
            {
                flags = "";
            }
        }
        if (flags.contains("${"))
        {
            flags = "";
        }
        final List<String> result = new ArrayList<>();
        for (final String flag : flags.trim().split("\\s+"))
        {
            if (!flag.isEmpty())
            {
                result.add(flag);
            }
        }
        return result;
    }

    private void removeLeftovers(final long id)
    {
        final Path dataDir = configs.get(id).dataDir().toAbsolutePath();
        final RingraftNode.PidFile pid = RingraftNode.readPidFile(dataDir);
        if (pid != null && !pid.alive())
        {
            if (pid.aeronDir() != null)
            {
                IoUtil.delete(new File(pid.aeronDir()), true);
            }
            try
            {
                Files.deleteIfExists(dataDir.resolve(RingraftNode.PID_FILE));
            }
            catch (final IOException ex)
            {
                System.err.println("ringraft: " + ex);
            }
        }
    }

    private static int waitFor(final Process child)
    {
        try
        {
            if (!child.waitFor(20, TimeUnit.SECONDS))
            {
                child.destroyForcibly();
                child.waitFor(10, TimeUnit.SECONDS);
            }
            return child.isAlive() ? -1 : child.exitValue();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            child.destroyForcibly();
            return -1;
        }
    }

    private static String tail(final Path log)
    {
        try
        {
            final List<String> lines = Files.exists(log) ? Files.readAllLines(log, StandardCharsets.UTF_8) : List.of();
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        }
        catch (final IOException ex)
        {
            return "(unreadable: " + ex.getMessage() + ")";
        }
    }


    @Override
    public String toString()
    {
        return "LocalCluster{" + configs.size() + " nodes" + (processes ? " as processes" : " in-process") + " in " + baseDir + ", " +
            Arrays.toString(configs.keySet().toArray()) + "}";
    }
}
