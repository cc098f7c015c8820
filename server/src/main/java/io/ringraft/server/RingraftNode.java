package io.ringraft.server;

import io.ringraft.Raft;
import io.ringraft.server.admin.AdminService;
import io.ringraft.server.kv.KvService;
import io.ringraft.service.ClusteredService;
import io.ringraft.service.ServiceNode;
import io.ringraft.transport.aeron.ClientAuth;
import org.agrona.CloseHelper;
import org.agrona.IoUtil;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.SleepingMillisIdleStrategy;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One deployable node: a {@link ServiceNode} (the media driver, embedded or external, the
 * Chronicle log and snapshots, the Aeron Raft network, the {@link Raft} node and the client
 * ingress) hosting the service the config names ({@code service =}, the example
 * {@link KvService} by default), plus the data directory's bookkeeping.
 * <p>
 * The data directory holds:
 * <pre>
 * ringraft.id  the cluster id and node id the directory belongs to (another cluster's is refused)
 * raft/        the Chronicle log, log.meta, vote and lock (see storage-chronicle)
 * snapshots/   the service host's snapshots (one file each, written atomically)
 * counters     the node's counters, read by {@code ringraft status} from outside the process
 * node.pid     while running: the process id and the media driver's directory
 * </pre>
 * {@link #close()} answers every pending request, closes the node (log and vote files), the
 * Aeron resources and an embedded driver (deleting its directory), and removes {@code node.pid}.
 */
public final class RingraftNode implements AutoCloseable
{
    /** The file that records which cluster and node a data directory belongs to. */
    public static final String ID_FILE = "ringraft.id";
    /** The counters file in the data directory. */
    public static final String COUNTERS_FILE = "counters";
    /** The file present while a node runs. */
    public static final String PID_FILE = "node.pid";
    /** The log's directory in the data directory. */
    public static final String LOG_DIR = ServiceNode.LOG_DIR;
    /** The snapshots' directory in the data directory. */
    public static final String SNAPSHOT_DIR = ServiceNode.SNAPSHOT_DIR;

    private final NodeConfig config;
    private final ServiceNode node;
    private final AdminService admin;
    private final AgentRunner adminRunner;
    private final AgentRunner syncDelayRunner;
    private boolean closed;

    /** @return the admin service: for tests */
    AdminService admin()
    {
        return admin;
    }

    private RingraftNode(final NodeConfig config, final ServiceNode node, final AdminService admin, final AgentRunner adminRunner,
        final AgentRunner syncDelayRunner)
    {
        this.config = config;
        this.node = node;
        this.admin = admin;
        this.adminRunner = adminRunner;
        this.syncDelayRunner = syncDelayRunner;
    }

    /**
     * Starts a node.
     *
     * @param config its configuration
     * @return the running node
     * @throws CliException naming the setting at fault when the data directory cannot be created
     *                      or belongs to another cluster or node, an endpoint cannot be bound, the
     *                      external driver is absent, the service class cannot be loaded, or the
     *                      log cannot be opened
     */
    public static RingraftNode start(final NodeConfig config)
    {
        return start(config, false);
    }

    /**
     * Starts a node. On an empty data directory, a node that does not join initializes a new
     * cluster of the config's members; one that joins waits, serving nothing, until a leader adds
     * it (it then receives a snapshot and the log), reaching the cluster through the members its
     * config lists. On a data directory that holds a log, both restart on it, and the log's
     * membership is authoritative: see {@link MemberEndpoints}.
     *
     * @param config its configuration
     * @param join   true to join a running cluster instead of initializing a new one
     * @return the running node
     * @throws CliException as {@link #start(NodeConfig)}
     */
    public static RingraftNode start(final NodeConfig config, final boolean join)
    {
        final long id = config.nodeId();
        final Path dataDir = config.dataDir().toAbsolutePath();
        final ClusteredService service = instantiate(config);
        prepareDataDir(config, dataDir);
        removeStaleDriverDirectory(config, dataDir);
        checkBindable(config.self().raftEndpoint(), config.source() + ": member." + id + " raft endpoint");
        checkBindable(config.self().clientEndpoint(), config.source() + ": member." + id + " client endpoint");
        if (!config.embeddedDriver() && !new File(config.aeronDir(), "cnc.dat").isFile())
        {
            throw new CliException(config.source() + ": aeron.dir=" + config.aeronDir() + " has no running media driver (no cnc.dat)");
        }
        final ServiceNode.Context ctx = new ServiceNode.Context().nodeId(id).clusterId(config.clusterId())
            .dataDir(dataDir)
            .aeronDirectory(config.embeddedDriver() ? null : config.aeronDir())
            .termLength(config.termLength())
            .mtu(config.mtu())
            .durability(config.durability())
            .syncDelayNanos(TimeUnit.MILLISECONDS.toNanos(config.syncDelayMs()))
            .service(service)
            .threadingMode(config.threading())
            .idleStrategy(config.idleStrategy())
            .timing(config.electionMinMs(), config.electionMaxMs(), config.heartbeatMs())
            .snapshotEveryEntries(config.snapshotEvery())
            .snapshotLogRatio(config.snapshotLogRatio())
            .initialMembership(MemberEndpoints.seed(config))
            .clientEndpointLookup((raft, member) -> MemberEndpoints.clientEndpoint(raft.metrics().membership(), member))
            .join(join)
            .plantedBug(config.plantedBug())
            .sessionTimeout(config.sessionTimeoutMs(), TimeUnit.MILLISECONDS)
            .maxSessions(config.maxSessions())
            .clusterKeyFile(config.clusterKeyFile())
            .clientCredentialsFile(config.clientCredentialsFile())
            .requireClientAuth(config.clientAuthRequired())
            .countersFile(dataDir.resolve(COUNTERS_FILE));
        config.members().forEach((memberId, m) -> ctx.member(memberId, m.raftEndpoint(), m.clientEndpoint()));
        final ServiceNode node;
        try
        {
            node = ServiceNode.launch(ctx);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new CliException(config.source() + ": " + ex.getMessage());
        }
        catch (final RuntimeException ex)
        {
            throw new CliException(config.source() + ": data.dir=" + dataDir + ": the node cannot start: " + ex);
        }
        AdminService admin = null;
        try
        {
            admin = new AdminService(node.raft(), config.clusterId(), config.self().clientEndpoint(), config.clientEndpoints(),
                node.aeronDirectory(), config.termLength(), ClientAuth.node("ringraft node " + id + " admin", id,
                node.context().clientCredentials(), config.clientAuthRequired(), System.err::println));
            final AgentRunner adminRunner = new AgentRunner(new SleepingMillisIdleStrategy(10),
                ex ->
                {
                    // The admin service never throws on remote input: what it throws is the node's own failure.
                    System.err.println("ringraft node " + id + " admin failed: " + ex);
                    node.raft().fail(ex);
                }, null, admin);
            AgentRunner.startOnThread(adminRunner);
            AgentRunner syncDelayRunner = null;
            try
            {
                if (config.syncDelayFile() != null)
                {
                    // A slow disk switched on and off from outside (fault-injection runs): the file is read every 100 ms.
                    syncDelayRunner = new AgentRunner(new SleepingMillisIdleStrategy(100),
                        ex -> System.err.println("ringraft node " + id + " " + NodeConfig.STORAGE_SYNC_DELAY_FILE + ": " + ex), null,
                        new SyncDelayFile(id, config.syncDelayFile(), config.syncDelayMs(), node::syncDelayNanos, System.out));
                    AgentRunner.startOnThread(syncDelayRunner);
                }
                writePidFile(dataDir, node.aeronDirectory());
            }
            catch (final RuntimeException ex)
            {
                CloseHelper.quietCloseAll(syncDelayRunner, adminRunner);
                throw ex;
            }
            return new RingraftNode(config, node, admin, adminRunner, syncDelayRunner);
        }
        catch (final RuntimeException ex)
        {
            CloseHelper.quietCloseAll(admin, node);
            throw ex;
        }
    }

    /**
     * Loads the config's service class.
     *
     * @throws CliException naming the setting if the class is absent, not a service, or cannot be created
     */
    static ClusteredService instantiate(final NodeConfig config)
    {
        final String name = config.service();
        final String setting = config.source() + ": service=" + name;
        try
        {
            final Class<?> type = Class.forName(name);
            if (!ClusteredService.class.isAssignableFrom(type))
            {
                throw new CliException(setting + " does not implement " + ClusteredService.class.getName());
            }
            return (ClusteredService)type.getDeclaredConstructor().newInstance();
        }
        catch (final ClassNotFoundException ex)
        {
            throw new CliException(setting + " is not on the classpath (add the service's jar with RINGRAFT_CLASSPATH)");
        }
        catch (final NoSuchMethodException ex)
        {
            throw new CliException(setting + " has no public no-argument constructor");
        }
        catch (final ReflectiveOperationException | LinkageError | RuntimeException ex)
        {
            final Throwable cause = ex.getCause() != null ? ex.getCause() : ex;
            throw new CliException(setting + " cannot be created (" + cause + ")");
        }
    }

    /** @return the node */
    public Raft raft()
    {
        return node.raft();
    }

    /** @return the hosted service */
    public ClusteredService service()
    {
        return node.service();
    }

    /** @return the service node underneath (ingress counters, cluster time) */
    public ServiceNode serviceNode()
    {
        return node;
    }

    /** @return its configuration */
    public NodeConfig config()
    {
        return config;
    }

    /** @return the media driver directory it uses */
    public String aeronDirectory()
    {
        return node.aeronDirectory();
    }

    /** Stops the node; see the class documentation. Idempotent. */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        try
        {
            CloseHelper.quietClose(syncDelayRunner);
            adminRunner.close();
            CloseHelper.quietClose(admin);
            node.close();
        }
        finally
        {
            try
            {
                Files.deleteIfExists(config.dataDir().toAbsolutePath().resolve(PID_FILE));
            }
            catch (final IOException ex)
            {
                System.err.println("ringraft node " + config.nodeId() + ": cannot remove " + PID_FILE + ": " + ex.getMessage());
            }
        }
    }

    /**
     * Creates the data directory, or checks that it belongs to this cluster and node.
     *
     */
    static void prepareDataDir(final NodeConfig config, final Path dataDir)
    {
        final String setting = config.source() + ": data.dir=" + dataDir;
        try
        {
            Files.createDirectories(dataDir);
        }
        catch (final IOException | SecurityException ex)
        {
            throw new CliException(setting + " cannot be created (" + ex.getClass().getSimpleName() + ": " + ex.getMessage() + ")");
        }
        if (!Files.isWritable(dataDir))
        {
            throw new CliException(setting + " is not writable");
        }
        final Path idFile = dataDir.resolve(ID_FILE);
        if (Files.exists(idFile))
        {
            final Properties recorded = new Properties();
            try (BufferedReader in = Files.newBufferedReader(idFile, StandardCharsets.UTF_8))
            {
                recorded.load(in);
            }
            catch (final IOException ex)
            {
                throw new CliException(setting + ": " + ID_FILE + " cannot be read (" + ex.getMessage() + ")");
            }
            final String cluster = recorded.getProperty("cluster.id");
            final String node = recorded.getProperty("node.id");
            if (!Integer.toString(config.clusterId()).equals(cluster))
            {
                throw new CliException(setting + " belongs to cluster.id=" + cluster + ", not cluster.id=" + config.clusterId());
            }
            if (!Long.toString(config.nodeId()).equals(node))
            {
                throw new CliException(setting + " belongs to node.id=" + node + ", not node.id=" + config.nodeId());
            }
            return;
        }
        try (Stream<Path> entries = Files.list(dataDir))
        {
            if (entries.anyMatch(p -> p.getFileName().toString().equals(LOG_DIR)))
            {
                throw new CliException(setting + " holds a log but no " + ID_FILE + ": refusing to guess which cluster it belongs to");
            }
            final Path temp = dataDir.resolve(ID_FILE + ".tmp");
            Files.writeString(temp, "cluster.id=" + config.clusterId() + "\nnode.id=" + config.nodeId() + "\n", StandardCharsets.UTF_8);
            Files.move(temp, idFile, StandardCopyOption.ATOMIC_MOVE);
        }
        catch (final IOException ex)
        {
            throw new CliException(setting + ": " + ID_FILE + " cannot be written (" + ex.getMessage() + ")");
        }
    }

    /** A node killed with SIGKILL left its embedded driver's directory behind: the pid file names it. */
    private static void removeStaleDriverDirectory(final NodeConfig config, final Path dataDir)
    {
        final PidFile stale = readPidFile(dataDir);
        if (stale == null)
        {
            return;
        }
        if (stale.alive() && stale.pid() != ProcessHandle.current().pid())
        {
            throw new CliException(config.source() + ": data.dir=" + dataDir + " is in use by the running process " + stale.pid());
        }
        if (!stale.alive() && stale.aeronDir() != null && new File(stale.aeronDir()).getName().startsWith("ringraft-aeron-"))
        {
            IoUtil.delete(new File(stale.aeronDir()), true);
        }
    }

    /** Binds the endpoint once to name the setting if it cannot be; a port in use gets five seconds to be released. */
    private static void checkBindable(final String endpoint, final String what)
    {
        final InetSocketAddress address = NodeConfig.address(endpoint, what);
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (true)
        {
            try (DatagramSocket socket = new DatagramSocket(null))
            {
                socket.setReuseAddress(false);
                socket.bind(address);
                return;
            }
            catch (final IOException ex)
            {
                if (!(ex instanceof java.net.BindException) || !String.valueOf(ex.getMessage()).contains("in use") ||
                    System.nanoTime() > deadline)
                {
                    throw new CliException(what + "=" + endpoint + " cannot be bound (" + ex.getMessage() + ")");
                }
                try
                {
                    Thread.sleep(50);
                }
                catch (final InterruptedException ie)
                {
                    Thread.currentThread().interrupt();
                    throw new CliException(what + "=" + endpoint + " cannot be bound (interrupted)");
                }
            }
        }
    }

    private static void writePidFile(final Path dataDir, final String aeronDir)
    {
        try
        {
            final Path temp = dataDir.resolve(PID_FILE + ".tmp");
            Files.writeString(temp, "pid=" + ProcessHandle.current().pid() + "\naeron.dir=" + aeronDir + "\n", StandardCharsets.UTF_8);
            Files.move(temp, dataDir.resolve(PID_FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        catch (final IOException ex)
        {
            throw new CliException("data.dir=" + dataDir + ": " + PID_FILE + " cannot be written (" + ex.getMessage() + ")");
        }
    }

    /**
     * Reads a data directory's {@code node.pid}.
     *
     * @param dataDir a node's data directory
     * @return its pid and media driver directory, or null if no node runs there (or it was killed
     *         and left its file: then {@link PidFile#alive()} is false)
     */
    public static PidFile readPidFile(final Path dataDir)
    {
        final Path file = dataDir.resolve(PID_FILE);
        if (!Files.isRegularFile(file))
        {
            return null;
        }
        final Properties p = new Properties();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8))
        {
            p.load(in);
            final long pid = Long.parseLong(p.getProperty("pid", "0").trim());
            return new PidFile(pid, p.getProperty("aeron.dir"));
        }
        catch (final IOException | NumberFormatException ex)
        {
            return null;
        }
    }

    /**
     * A node's {@code node.pid} file.
     *
     * @param pid      the process that wrote it
     * @param aeronDir the media driver directory it used
     */
    public record PidFile(long pid, String aeronDir)
    {
        /** @return true if the process still runs */
        public boolean alive()
        {
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        }
    }
}
