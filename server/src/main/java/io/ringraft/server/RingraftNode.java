package io.ringraft.server;

import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.ThreadingMode;
import io.ringraft.server.admin.AdminService;
import io.ringraft.server.kv.KvService;
import io.ringraft.server.kv.KvStateMachine;
import io.ringraft.storage.chronicle.ChronicleLogStorage;
import io.ringraft.storage.chronicle.ChronicleStorageContext;
import io.ringraft.storage.chronicle.FileSnapshotStore;
import io.ringraft.transport.aeron.AeronRaftNetwork;
import io.ringraft.transport.aeron.AeronTransportConfig;
import io.ringraft.transport.aeron.EmbeddedMediaDriver;
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
 * One deployable node: the media driver (embedded, or an external one), the Chronicle log and
 * vote, the Aeron Raft network, the {@link Raft} node with the example {@link KvStateMachine}, and
 * the {@link KvService} on the client endpoint.
 * <p>
 * The data directory holds:
 * <pre>
 * ringraft.id  the cluster id and node id the directory belongs to (another cluster's is refused)
 * raft/        the Chronicle log, log.meta, vote and lock (see storage-chronicle)
 * snapshots/   the state machine's snapshots (one file each, written atomically)
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
    public static final String LOG_DIR = "raft";
    /** The snapshots' directory in the data directory. */
    public static final String SNAPSHOT_DIR = "snapshots";

    private final NodeConfig config;
    private final EmbeddedMediaDriver driver;
    private final Raft raft;
    private final KvStateMachine stateMachine;
    private final KvService service;
    private final AgentRunner serviceRunner;
    private final AgentRunner adminRunner;
    private final String aeronDirectory;
    private boolean closed;

    private RingraftNode(final NodeConfig config, final EmbeddedMediaDriver driver, final Raft raft, final KvStateMachine stateMachine,
        final KvService service, final AgentRunner serviceRunner, final AgentRunner adminRunner, final String aeronDirectory)
    {
        this.adminRunner = adminRunner;
        this.config = config;
        this.driver = driver;
        this.raft = raft;
        this.stateMachine = stateMachine;
        this.service = service;
        this.serviceRunner = serviceRunner;
        this.aeronDirectory = aeronDirectory;
    }

    /**
     * Starts a node.
     *
     * @param config its configuration
     * @return the running node
     * @throws CliException naming the setting at fault when the data directory cannot be created
     *                      or belongs to another cluster or node, an endpoint cannot be bound, the
     *                      external driver is absent, or the log cannot be opened
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
        prepareDataDir(config, dataDir);
        removeStaleDriverDirectory(config, dataDir);
        checkBindable(config.self().raftEndpoint(), config.source() + ": member." + id + " raft endpoint");
        checkBindable(config.self().clientEndpoint(), config.source() + ": member." + id + " client endpoint");
        if (!config.embeddedDriver() && !new File(config.aeronDir(), "cnc.dat").isFile())
        {
            throw new CliException(config.source() + ": aeron.dir=" + config.aeronDir() + " has no running media driver (no cnc.dat)");
        }

        EmbeddedMediaDriver driver = null;
        ChronicleLogStorage storage = null;
        FileSnapshotStore snapshots = null;
        AeronRaftNetwork network = null;
        Raft raft = null;
        KvService service = null;
        AdminService admin = null;
        try
        {
            driver = config.embeddedDriver() ? EmbeddedMediaDriver.launch(id, config.termLength()) : null;
            final String aeronDir = driver != null ? driver.aeronDirectoryName() : config.aeronDir();
            try
            {
                storage = ChronicleLogStorage.open(new ChronicleStorageContext().directory(dataDir.resolve(LOG_DIR))
                    .durability(config.durability()));
            }
            catch (final RuntimeException ex)
            {
                throw new CliException(config.source() + ": data.dir=" + dataDir + ": the log cannot be opened: " + ex.getMessage());
            }
            try
            {
                snapshots = FileSnapshotStore.open(dataDir.resolve(SNAPSHOT_DIR));
            }
            catch (final RuntimeException ex)
            {
                throw new CliException(config.source() + ": data.dir=" + dataDir + ": the snapshots cannot be opened: " + ex.getMessage());
            }
            network = new AeronRaftNetwork(new AeronTransportConfig().nodeId(id).clusterId(config.clusterId())
                .endpoints(config.raftEndpoints()).termLength(config.termLength()).externalDriver(aeronDir).invoker(true));
            final RaftConfig raftConfig = new RaftConfig().nodeId(id)
                .threadingMode(config.threading())
                .coreIdleStrategy(config.idleStrategy())
                .stateMachineIdleStrategy(config.idleStrategy())
                .electionTimeout(config.electionMinMs(), config.electionMaxMs(), TimeUnit.MILLISECONDS)
                .heartbeatInterval(config.heartbeatMs(), TimeUnit.MILLISECONDS)
                .maxPayloadLength(maxPayloadLength(network))
                .snapshotEveryEntries(config.snapshotEvery())
                .plantedBug(config.plantedBug())
                .countersFile(dataDir.resolve(COUNTERS_FILE));
            final KvStateMachine stateMachine = new KvStateMachine();
            // The initial membership initializes a new cluster: given only while the node holds nothing yet.
            final boolean empty = storage.lastLogId().index() == 0 && snapshots.latest() == null;
            raft = Raft.start(raftConfig, storage, snapshots, network, stateMachine, empty && !join ? MemberEndpoints.seed(config) : null);
            storage = null;
            snapshots = null;
            network = null;
            service = new KvService(raft, stateMachine, config.clusterId(), config.clientEndpoints(), aeronDir, config.termLength(),
                config.threading() == ThreadingMode.INVOKER);
            final AgentRunner runner = new AgentRunner(config.idleStrategy().get(),
                ex -> System.err.println("ringraft node " + id + ": " + ex), null, service);
            AgentRunner.startOnThread(runner);
            admin = new AdminService(raft, config.clusterId(), config.self().clientEndpoint(), config.clientEndpoints(), aeronDir,
                config.termLength());
            final AgentRunner adminRunner = new AgentRunner(new SleepingMillisIdleStrategy(10),
                ex -> System.err.println("ringraft node " + id + " admin: " + ex), null, admin);
            AgentRunner.startOnThread(adminRunner);
            writePidFile(dataDir, aeronDir);
            return new RingraftNode(config, driver, raft, stateMachine, service, runner, adminRunner, aeronDir);
        }
        catch (final RuntimeException ex)
        {
            if (service != null)
            {
                service.closeFromOwner();
            }
            CloseHelper.quietCloseAll(admin, raft, network, snapshots, storage, driver);
            throw ex;
        }
    }

    /** The largest client payload: what fits one Aeron message with room for the Raft framing. */
    static int maxPayloadLength(final AeronRaftNetwork network)
    {
        return Math.min(64 * 1024, network.maxMessageLength() - 1024);
    }

    /** @return the node */
    public Raft raft()
    {
        return raft;
    }

    /** @return its state machine */
    public KvStateMachine stateMachine()
    {
        return stateMachine;
    }

    /** @return its configuration */
    public NodeConfig config()
    {
        return config;
    }

    /** @return the media driver directory it uses */
    public String aeronDirectory()
    {
        return aeronDirectory;
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
            adminRunner.close();
            service.shutdown(10_000);
            serviceRunner.close();
            service.closeFromOwner();
        }
        finally
        {
            CloseHelper.quietCloseAll(raft, driver);
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
