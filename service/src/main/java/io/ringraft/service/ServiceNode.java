package io.ringraft.service;

import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.ThreadingMode;
import io.ringraft.YieldThenWaitIdleStrategy;
import io.ringraft.client.ClientProtocol;
import io.ringraft.engine.PlantedBug;
import io.ringraft.storage.DurabilityPolicy;
import io.ringraft.storage.chronicle.ChronicleLogStorage;
import io.ringraft.storage.chronicle.ChronicleStorageContext;
import io.ringraft.storage.chronicle.FileSnapshotStore;
import io.ringraft.transport.aeron.AeronRaftNetwork;
import io.ringraft.transport.aeron.AeronTransportConfig;
import io.ringraft.transport.aeron.ClientAuth;
import io.ringraft.transport.aeron.PublicationChannels;
import io.ringraft.transport.aeron.ClientCredentials;
import io.ringraft.transport.aeron.FrameAuthenticator;
import io.ringraft.transport.aeron.KeyRing;
import io.ringraft.transport.aeron.WatchedFile;
import io.ringraft.transport.aeron.EmbeddedMediaDriver;
import org.agrona.BitUtil;
import org.agrona.CloseHelper;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.EpochNanoClock;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.OffsetEpochNanoClock;

import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * A service node: one {@link Raft} node over Aeron UDP ({@link AeronRaftNetwork}) with a
 * Chronicle log and snapshot store in its data directory, hosting a {@link ClusteredService}
 * ({@link ServiceHost}: sessions, cluster time, timers) and serving clients
 * ({@link io.ringraft.client.RingraftClient}) on its client endpoint.
 * <pre>{@code
 * ServiceNode node = ServiceNode.launch(new ServiceNode.Context()
 *     .nodeId(1)
 *     .member(1, "10.0.0.1:9001", "10.0.0.1:9101")   // raft endpoint, client endpoint
 *     .member(2, "10.0.0.2:9001", "10.0.0.2:9101")
 *     .member(3, "10.0.0.3:9001", "10.0.0.3:9101")
 *     .dataDir(Path.of("/var/lib/ringraft/node-1"))
 *     .service(new MyService()));
 * }</pre>
 * {@link #close()} answers what is pending, closes the node, its Aeron resources and an
 * embedded driver (deleting its directory).
 */
public final class ServiceNode implements AutoCloseable
{
    /** The log's directory in the data directory. */
    public static final String LOG_DIR = "raft";
    /** The snapshots' directory in the data directory. */
    public static final String SNAPSHOT_DIR = "snapshots";

    private final Context ctx;
    private final EmbeddedMediaDriver driver;
    private final Raft raft;
    private final ServiceHost host;
    private final ClientIngress ingress;
    private final AgentRunner ingressRunner;
    private final String aeronDirectory;
    private final ChronicleLogStorage log;
    private boolean closed;

    private ServiceNode(final Context ctx, final EmbeddedMediaDriver driver, final Raft raft, final ServiceHost host,
        final ClientIngress ingress, final AgentRunner ingressRunner, final String aeronDirectory, final ChronicleLogStorage log)
    {
        this.ctx = ctx;
        this.log = log;
        this.driver = driver;
        this.raft = raft;
        this.host = host;
        this.ingress = ingress;
        this.ingressRunner = ingressRunner;
        this.aeronDirectory = aeronDirectory;
    }

    /**
     * Starts a node: concludes the context, opens the log, joins the cluster and serves clients.
     *
     * @param ctx the settings
     * @return the running node
     * @throws IllegalArgumentException naming the setting at fault
     */
    public static ServiceNode launch(final Context ctx)
    {
        ctx.conclude();
        EmbeddedMediaDriver driver = null;
        ChronicleLogStorage storage = null;
        FileSnapshotStore snapshots = null;
        AeronRaftNetwork network = null;
        Raft raft = null;
        ClientIngress ingress = null;
        try
        {
            // INVOKER with an embedded driver is the composed layout: the driver has no thread either, and the
            // ingress thread runs it (through the network's duty cycle, inside raft.doWork()) with everything else.
            final boolean composed = ctx.threadingMode == ThreadingMode.INVOKER && ctx.aeronDirectory == null;
            driver = ctx.aeronDirectory == null ? EmbeddedMediaDriver.launch(ctx.nodeId, ctx.termLength, composed) : null;
            final String aeronDir = driver != null ? driver.aeronDirectoryName() : ctx.aeronDirectory;
            final AgentInvoker driverInvoker = composed ? driver.invoker() : null;
            storage = ChronicleLogStorage.open(new ChronicleStorageContext().directory(ctx.dataDir.resolve(LOG_DIR))
                .durability(ctx.durability).syncDelayNanos(ctx.syncDelayNanos));
            snapshots = FileSnapshotStore.open(ctx.dataDir.resolve(SNAPSHOT_DIR));
            final AeronTransportConfig transport = new AeronTransportConfig().nodeId(ctx.nodeId).clusterId(ctx.clusterId)
                .endpoints(ctx.raftEndpoints).termLength(ctx.termLength).mtu(ctx.mtu).externalDriver(aeronDir).invoker(true)
                .externalDriverInvoker(driverInvoker);
            if (ctx.clusterKeyFile != null)
            {
                transport.authKeyFile(ctx.clusterKeyFile);
            }
            if (transport.authKeyFile() != null && transport.authEpochFile() == null)
            {
                transport.authEpochFile(ctx.dataDir.resolve(AUTH_EPOCH_FILE));
            }
            network = new AeronRaftNetwork(transport);
            final RaftConfig raftConfig = new RaftConfig().nodeId(ctx.nodeId)
                .threadingMode(ctx.threadingMode)
                .coreIdleStrategy(ctx.idleStrategy)
                .stateMachineIdleStrategy(ctx.idleStrategy)
                .electionTimeout(ctx.electionTimeoutMinMs, ctx.electionTimeoutMaxMs, TimeUnit.MILLISECONDS)
                .heartbeatInterval(ctx.heartbeatIntervalMs, TimeUnit.MILLISECONDS)
                .maxPayloadLength(ctx.maxEntryLength())
                .snapshotEveryEntries(ctx.snapshotEveryEntries)
                .snapshotLogRatio(ctx.snapshotLogRatio)
                .plantedBug(ctx.plantedBug)
                .countersFile(ctx.countersFile);
            final ServiceHost host = new ServiceHost(ctx.service, ctx.nodeId, ctx.maxSessions, ctx.sessionTimeoutNs,
                ctx.maxResponseLength, ctx.sessionWindow, ctx.sessionCacheBytes, ctx.maxTimers);
            final long[] voters = ctx.raftEndpoints.keySet().stream().mapToLong(Long::longValue).toArray();
            // The initial membership initializes a new cluster: given only while the node holds nothing yet.
            final boolean empty = storage.lastLogId().index() == 0 && snapshots.latest() == null;
            final Membership initial = ctx.initialMembership != null ? ctx.initialMembership : Membership.of(voters);
            raft = Raft.start(raftConfig, storage, snapshots, network, host, empty && !ctx.join ? initial : null);
            final ChronicleLogStorage log = storage; // owned by the Raft node from here on
            storage = null;
            snapshots = null;
            network = null;
            ingress = new ClientIngress(ctx, raft, host, aeronDir, ctx.threadingMode == ThreadingMode.INVOKER, driverInvoker);
            final long id = ctx.nodeId;
            final Raft node = raft;
            // The ingress handles remote input without throwing and catches what the service's
            // queries throw: anything it throws is the node's own failure (its Aeron client
            // stopped, a bug), and the node stops as a whole rather than keep running unreachable.
            final IdleStrategy idle = ctx.idleStrategy.get();
            if (idle instanceof YieldThenWaitIdleStrategy)
            {
                // Sleeps on the sockets of the driver this thread runs, and wakes for input from other threads.
                if (!composed)
                {
                    throw new IllegalArgumentException("the idle strategy " + idle + " needs threadingMode=INVOKER with the " +
                        "embedded media driver (it waits on the sockets of the driver its thread runs); this node has threadingMode=" +
                        ctx.threadingMode + (ctx.aeronDirectory == null ? "" : " and an external driver"));
                }
                final YieldThenWaitIdleStrategy waiting = (YieldThenWaitIdleStrategy)idle;
                waiting.bind(driver.socketWaiter(), raft::hasPendingInput);
                raft.inputSignal(waiting::wake);
            }
            final AgentRunner runner = new AgentRunner(idle, ex ->
            {
                System.err.println("ringraft node " + id + ": client ingress failed: " + ex);
                node.fail(ex);
            }, null, ingress);
            AgentRunner.startOnThread(runner);
            if (ctx.threadingMode == ThreadingMode.INVOKER)
            {
                // The ingress thread drives the node from its first duty cycle on: wait for it, so that no other
                // thread (Raft.waitFor on the caller's) ever runs the node's duty cycle beside it.
                final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (raft.driverThread() == null && !runner.isClosed() && raft.failure() == null)
                {
                    if (System.nanoTime() > deadline)
                    {
                        throw new IllegalStateException("node " + ctx.nodeId + ": the ingress thread did not start within 10 s");
                    }
                    LockSupport.parkNanos(100_000);
                }
            }
            return new ServiceNode(ctx, driver, raft, host, ingress, runner, aeronDir, log);
        }
        catch (final RuntimeException ex)
        {
            if (ingress != null)
            {
                ingress.closeFromOwner();
            }
            CloseHelper.quietCloseAll(raft, network, snapshots, storage, driver);
            throw ex;
        }
    }

    /** @return the client ingress: for tests */
    ClientIngress ingress()
    {
        return ingress;
    }

    /** @return the Raft node (metrics, admin operations) */
    public Raft raft()
    {
        return raft;
    }

    /**
     * Delays every log sync from now on, as a slow disk would, for fault-injection runs (the
     * initial value is {@link Context#syncDelayNanos(long)}): see
     * {@link ChronicleLogStorage#syncDelayNanos(long)}. Safe from any thread.
     *
     * @param nanos the extra delay before each sync, {@code >= 0}; 0 for none
     */
    public void syncDelayNanos(final long nanos)
    {
        log.syncDelayNanos(nanos);
    }

    /** @return the hosted service */
    public ClusteredService service()
    {
        return host.service();
    }

    /** @return the cluster time of the last entry this node applied (epoch ns) */
    public long clusterTimeNs()
    {
        return host.currentClusterTimeNs();
    }

    /** @return the open client sessions as of the last applied entry (read from any thread) */
    public int sessionCount()
    {
        return host.openSessions();
    }

    /** The file in the data directory where the node keeps its sender epoch when the cluster key is set. */
    public static final String AUTH_EPOCH_FILE = "auth.epoch";

    /** @return what the client ingress refused and dropped */
    public IngressCounters ingressCounters()
    {
        return ctx.ingressCounters;
    }

    /** @return the concluded settings */
    public Context context()
    {
        return ctx;
    }

    /** @return the media driver directory the node uses */
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
            ingress.shutdown(10_000);
            ingressRunner.close();
            ingress.closeFromOwner();
        }
        finally
        {
            CloseHelper.quietCloseAll(raft, driver);
        }
    }

    /**
     * The settings of a {@link ServiceNode}, in Aeron's Context style: fluent setters and one
     * {@link #conclude()} that validates everything and derives the message sizes from the term
     * length, failing with a message that names the setting.
     */
    public static final class Context
    {
        private long nodeId;
        private int clusterId;
        private final Map<Long, String> raftEndpoints = new TreeMap<>();
        private final Map<Long, String> clientEndpoints = new TreeMap<>();
        private Path dataDir;
        private String aeronDirectory;
        private int termLength = 256 * 1024;
        private int responseTermLength = 256 * 1024;
        private int mtu = PublicationChannels.MTU_AUTO;
        private DurabilityPolicy durability = DurabilityPolicy.BATCH;
        private long syncDelayNanos;
        private ClusteredService service;
        private ThreadingMode threadingMode = ThreadingMode.SHARED;
        private Supplier<IdleStrategy> idleStrategy = () -> new BackoffIdleStrategy(10, 20, 1_000, 1_000_000);
        private long electionTimeoutMinMs = 300;
        private long electionTimeoutMaxMs = 600;
        private long heartbeatIntervalMs = 50;
        private long snapshotEveryEntries = 100_000;
        private double snapshotLogRatio = RaftConfig.DEFAULT_SNAPSHOT_LOG_RATIO;
        private Path countersFile;
        private int maxSessions = 1024;
        private long sessionTimeoutNs = TimeUnit.SECONDS.toNanos(10);
        private int sessionWindow = 1024;
        private int sessionCacheBytes = 16 * 1024;
        private int maxTimers = 1 << 20;
        private int maxCommandLength;
        private int maxResponseLength = 4096;
        private int maxPendingWrites = 1024;
        private int maxPendingQueries = 256;
        private int maxPendingOpens = 16;
        private int maxBacklogBytes = 256 * 1024;
        private long connectTimeoutNs = TimeUnit.SECONDS.toNanos(5);
        private long openLingerNs = TimeUnit.SECONDS.toNanos(2);
        private EpochNanoClock epochClock = new OffsetEpochNanoClock();
        private Membership initialMembership;
        private boolean join;
        private PlantedBug plantedBug = PlantedBug.NONE;
        private java.util.function.BiFunction<Raft, Long, String> clientEndpointLookup;
        private final IngressCounters ingressCounters = new IngressCounters();
        private Path clusterKeyFile;
        private Path clientCredentialsFile;
        private boolean requireClientAuth;
        private WatchedFile<ClientCredentials> clientCredentials;
        private int maxRequestLength;
        private int resultsRingCapacity;
        private boolean concluded;

        /** @param nodeId this node's id, positive */
        public Context nodeId(final long nodeId)
        {
            this.nodeId = nodeId;
            return this;
        }

        /** @return this node's id */
        public long nodeId()
        {
            return nodeId;
        }

        /** @param clusterId the cluster's id: frames naming another are dropped */
        public Context clusterId(final int clusterId)
        {
            this.clusterId = clusterId;
            return this;
        }

        /** @return the cluster id */
        public int clusterId()
        {
            return clusterId;
        }

        /**
         * Adds a member (every member's, this node's included).
         *
         * @param id             its node id
         * @param raftEndpoint   "host:port" of its Raft traffic
         * @param clientEndpoint "host:port" where it serves clients
         */
        public Context member(final long id, final String raftEndpoint, final String clientEndpoint)
        {
            raftEndpoints.put(id, raftEndpoint);
            clientEndpoints.put(id, clientEndpoint);
            return this;
        }

        /** @return every member's client endpoint */
        public Map<Long, String> clientEndpoints()
        {
            return clientEndpoints;
        }

        /** @param dataDir where the log and snapshots live */
        public Context dataDir(final Path dataDir)
        {
            this.dataDir = dataDir;
            return this;
        }

        /** @param dir a running media driver's directory; null (the default) launches an embedded driver */
        public Context aeronDirectory(final String dir)
        {
            this.aeronDirectory = dir;
            return this;
        }

        /** @param termLength the Raft publications' term length (a power of two from 64 KiB); it bounds the entry size */
        public Context termLength(final int termLength)
        {
            this.termLength = termLength;
            return this;
        }

        /**
         * @param termLength the response publications' term length (a power of two from 64 KiB): it bounds
         *                   the longest response and query answer ({@code termLength / 8}); each session's
         *                   publication maps {@code 3 x termLength} (sparse) in the driver's directory
         */
        public Context responseTermLength(final int termLength)
        {
            this.responseTermLength = termLength;
            return this;
        }

        /** @return the response publications' term length */
        public int responseTermLength()
        {
            return responseTermLength;
        }

        /**
         * @param mtu the MTU of the node's publications (Raft traffic and responses):
         *            {@link PublicationChannels#MTU_AUTO} (the default) chooses by endpoint (large on
         *            loopback, Aeron's default elsewhere); or a multiple of 32 from 1,024 to 65,504, at most
         *            both term lengths / 8 (see {@link PublicationChannels})
         */
        public Context mtu(final int mtu)
        {
            this.mtu = mtu;
            return this;
        }

        /** @return the MTU of the node's publications; {@link PublicationChannels#MTU_AUTO} chooses by endpoint */
        public int mtu()
        {
            return mtu;
        }

        /** @param durability the log's durability policy */
        public Context durability(final DurabilityPolicy durability)
        {
            this.durability = durability;
            return this;
        }

        /**
         * @param nanos an extra delay before every sync of the log, as a slow disk would add (a
         *              fault for tests: {@code ChronicleStorageContext.syncDelayNanos}); 0 for none
         */
        public Context syncDelayNanos(final long nanos)
        {
            this.syncDelayNanos = nanos;
            return this;
        }

        /** @param service the hosted service */
        public Context service(final ClusteredService service)
        {
            this.service = service;
            return this;
        }

        /** @param mode the node's threading mode; in INVOKER the ingress thread drives the node */
        public Context threadingMode(final ThreadingMode mode)
        {
            this.threadingMode = mode;
            return this;
        }

        /** @param idleStrategy the idle strategy of every agent of the node */
        public Context idleStrategy(final Supplier<IdleStrategy> idleStrategy)
        {
            this.idleStrategy = idleStrategy;
            return this;
        }

        /** Election timeout range and heartbeat interval, in milliseconds. */
        public Context timing(final long electionMinMs, final long electionMaxMs, final long heartbeatMs)
        {
            this.electionTimeoutMinMs = electionMinMs;
            this.electionTimeoutMaxMs = electionMaxMs;
            this.heartbeatIntervalMs = heartbeatMs;
            return this;
        }

        /** @param entries entries between snapshots (0 = only when triggered) */
        public Context snapshotEveryEntries(final long entries)
        {
            this.snapshotEveryEntries = entries;
            return this;
        }

        /**
         * @param ratio a large snapshot is followed by the next only once the log since it carries this many times its
         *              size; 0 for entries alone (see {@link RaftConfig#snapshotLogRatio(double)}, whose default it has)
         */
        public Context snapshotLogRatio(final double ratio)
        {
            this.snapshotLogRatio = ratio;
            return this;
        }

        /** @param file the node's counters file, read by {@code ringraft status}; null for none */
        public Context countersFile(final Path file)
        {
            this.countersFile = file;
            return this;
        }

        /** @param maxSessions open sessions at most; an OPEN beyond is refused with SESSION_LIMIT */
        public Context maxSessions(final int maxSessions)
        {
            this.maxSessions = maxSessions;
            return this;
        }

        /** @param timeout a session without activity for this long in cluster time expires */
        public Context sessionTimeout(final long timeout, final TimeUnit unit)
        {
            this.sessionTimeoutNs = unit.toNanos(timeout);
            return this;
        }

        /** @return the session timeout in nanoseconds */
        public long sessionTimeoutNs()
        {
            return sessionTimeoutNs;
        }

        /** @param window commands a session may have applied above its acknowledged floor */
        public Context sessionWindow(final int window)
        {
            this.sessionWindow = window;
            return this;
        }

        /** @param bytes response bytes kept per session for retries */
        public Context sessionCacheBytes(final int bytes)
        {
            this.sessionCacheBytes = bytes;
            return this;
        }

        /** @param maxTimers scheduled timers at most */
        public Context maxTimers(final int maxTimers)
        {
            this.maxTimers = maxTimers;
            return this;
        }

        /** @param length the longest command; 0 (the default) derives the largest that fits one Raft message */
        public Context maxCommandLength(final int length)
        {
            this.maxCommandLength = length;
            return this;
        }

        /** @return the longest command (derived by {@link #conclude()}) */
        public int maxCommandLength()
        {
            return maxCommandLength;
        }

        /** @param length the longest response a command or query may have */
        public Context maxResponseLength(final int length)
        {
            this.maxResponseLength = length;
            return this;
        }

        /** @return the longest response */
        public int maxResponseLength()
        {
            return maxResponseLength;
        }

        /** @param count writes (commands, opens, keepalives) in flight at most; beyond, BUSY */
        public Context maxPendingWrites(final int count)
        {
            this.maxPendingWrites = count;
            return this;
        }

        /** @return writes in flight at most */
        public int maxPendingWrites()
        {
            return maxPendingWrites;
        }

        /** @param count linearizable queries in flight at most; beyond, BUSY */
        public Context maxPendingQueries(final int count)
        {
            this.maxPendingQueries = count;
            return this;
        }

        /** @return linearizable queries in flight at most */
        public int maxPendingQueries()
        {
            return maxPendingQueries;
        }

        /** @param count OPENs (each with a publication to the endpoint it names) in flight at most; beyond, dropped */
        public Context maxPendingOpens(final int count)
        {
            this.maxPendingOpens = count;
            return this;
        }

        /** @return OPENs in flight at most */
        public int maxPendingOpens()
        {
            return maxPendingOpens;
        }

        /** @param bytes unsent response bytes a session may have waiting; beyond, responses are dropped */
        public Context maxBacklogBytes(final int bytes)
        {
            this.maxBacklogBytes = bytes;
            return this;
        }

        /** @return the per-session backlog cap */
        public int maxBacklogBytes()
        {
            return maxBacklogBytes;
        }

        /** @param timeout how long a response publication may stay unconnected before it is closed */
        public Context connectTimeout(final long timeout, final TimeUnit unit)
        {
            this.connectTimeoutNs = unit.toNanos(timeout);
            return this;
        }

        /** @return the connect timeout in nanoseconds */
        public long connectTimeoutNs()
        {
            return connectTimeoutNs;
        }

        /** @return how long an OPEN's publication stays after its answer */
        public long openLingerNs()
        {
            return openLingerNs;
        }

        /** @param membership the membership a new cluster starts with (default: the members as voters) */
        public Context initialMembership(final Membership membership)
        {
            this.initialMembership = membership;
            return this;
        }

        /** @param join true to join a running cluster (an empty node waits to be added) instead of initializing a new one */
        public Context join(final boolean join)
        {
            this.join = join;
            return this;
        }

        /**
         * @param lookup finds a member's client endpoint (e.g. in the log's membership) for redirects;
         *               the members given here are the fallback
         */
        public Context clientEndpointLookup(final java.util.function.BiFunction<Raft, Long, String> lookup)
        {
            this.clientEndpointLookup = lookup;
            return this;
        }

        /** @return the client endpoint lookup, or null */
        public java.util.function.BiFunction<Raft, Long, String> clientEndpointLookup()
        {
            return clientEndpointLookup;
        }

        /** @param bug a planted bug, for fault-injection runs that prove their checks (default none) */
        public Context plantedBug(final PlantedBug bug)
        {
            this.plantedBug = bug;
            return this;
        }

        /** @param clock the clock the leader stamps entries with (tests give a skewed one) */
        public Context epochClock(final EpochNanoClock clock)
        {
            this.epochClock = clock;
            return this;
        }

        /** @return the stamping clock */
        public EpochNanoClock epochClock()
        {
            return epochClock;
        }

        /**
         * @param file the cluster key file every member holds (see {@link io.ringraft.transport.aeron.ClusterKeys}):
         *             every Raft frame is signed and checked with it; null (the default) leaves the
         *             transport's default, the system property {@value AeronTransportConfig#AUTH_KEY_FILE_PROP}
         *             (authentication off when that is unset too). The node keeps its sender epoch in
         *             {@value #AUTH_EPOCH_FILE} in the data directory.
         * @return this
         */
        public Context clusterKeyFile(final Path file)
        {
            this.clusterKeyFile = file;
            return this;
        }

        /**
         * @param file the clients this node lets in, with their keys (see {@link ClientCredentials});
         *             signed client and admin frames are checked against it, and answered signed.
         *             Null (the default): no client authentication, signed client frames are refused.
         *             The node reads the file again when it changes.
         * @return this
         */
        public Context clientCredentialsFile(final Path file)
        {
            this.clientCredentialsFile = file;
            return this;
        }

        /**
         * @param required true to refuse every unsigned client and admin frame (needs a
         *                 {@link #clientCredentialsFile}); false (the default) serves unsigned clients
         *                 too, while signed ones are checked
         * @return this
         */
        public Context requireClientAuth(final boolean required)
        {
            this.requireClientAuth = required;
            return this;
        }

        /** @return true if unsigned client frames are refused */
        public boolean requireClientAuth()
        {
            return requireClientAuth;
        }

        /** @return the client credentials loaded by {@link #conclude()}, or null when client authentication is off */
        public WatchedFile<ClientCredentials> clientCredentials()
        {
            return clientCredentials;
        }

        /** @return the ingress counters */
        public IngressCounters ingressCounters()
        {
            return ingressCounters;
        }

        /** @return the longest request frame accepted (derived) */
        public int maxRequestLength()
        {
            return maxRequestLength;
        }

        /** @return the results ring's capacity (derived: every write in flight with its longest response fits) */
        public int resultsRingCapacity()
        {
            return resultsRingCapacity;
        }

        /** @return the longest Raft entry payload the host writes: a command and its header */
        public int maxEntryLength()
        {
            return ServiceEntry.HEADER + maxCommandLength;
        }

        /**
         * Validates every setting and derives the sizes: the largest Raft payload is what one Aeron
         * message of the term length carries ({@code termLength / 8}) less the Raft framing
         * ({@link RaftConfig#MESSAGE_OVERHEAD}); a command is that less the host's entry header.
         *
         * @return this
         * @throws IllegalArgumentException naming the first bad setting and its value
         */
        public Context conclude()
        {
            if (concluded)
            {
                return this;
            }
            require(nodeId > 0, "nodeId=" + nodeId + " must be positive");
            require(raftEndpoints.containsKey(nodeId), "members " + raftEndpoints.keySet() + " must include nodeId=" + nodeId);
            require(service != null, "service must be set");
            require(dataDir != null, "dataDir must be set");
            require(termLength >= 64 * 1024 && Integer.bitCount(termLength) == 1,
                "termLength=" + termLength + " must be a power of two from 65536");
            require(responseTermLength >= 64 * 1024 && Integer.bitCount(responseTermLength) == 1,
                "responseTermLength=" + responseTermLength + " must be a power of two from 65536");
            final String mtuProblem = PublicationChannels.mtuProblem(mtu, Math.min(termLength, responseTermLength));
            require(mtuProblem == null, "mtu=" + mtu + " " + mtuProblem + " (termLength=" + termLength +
                ", responseTermLength=" + responseTermLength + ")");
            // A signed Raft frame carries the authentication trailer too (the cluster key set here, or by the system property).
            final boolean clusterAuth = clusterKeyFile != null || new AeronTransportConfig().authKeyFile() != null;
            final int raftMaxPayload = AeronTransportConfig.aeronMaxMessageLength(termLength) - RaftConfig.MESSAGE_OVERHEAD -
                (clusterAuth ? FrameAuthenticator.TRAILER_LENGTH : 0);
            final int largestCommand = raftMaxPayload - ServiceEntry.HEADER;
            if (maxCommandLength == 0)
            {
                maxCommandLength = largestCommand;
            }
            require(maxCommandLength > 0 && maxCommandLength <= largestCommand, "maxCommandLength=" + maxCommandLength +
                " must be in 1.." + largestCommand + " (termLength=" + termLength + " carries messages of " +
                AeronTransportConfig.aeronMaxMessageLength(termLength) + " bytes, less " + RaftConfig.MESSAGE_OVERHEAD +
                " of Raft framing" + (clusterAuth ? ", " + FrameAuthenticator.TRAILER_LENGTH + " of authentication" : "") + " and " +
                ServiceEntry.HEADER + " of entry header)");
            final int largestResponse = AeronTransportConfig.aeronMaxMessageLength(responseTermLength) - ClientProtocol.RESPONSE_HEADER -
                ClientAuth.OVERHEAD;
            require(maxResponseLength > 0 && maxResponseLength <= largestResponse, "maxResponseLength=" + maxResponseLength +
                " must be in 1.." + largestResponse + " (responseTermLength=" + responseTermLength + ")");
            require(maxSessions > 0, "maxSessions=" + maxSessions + " must be positive");
            require(sessionTimeoutNs > 0, "sessionTimeout=" + sessionTimeoutNs + " ns must be positive");
            require(sessionWindow > 0, "sessionWindow=" + sessionWindow + " must be positive");
            require(sessionCacheBytes >= 0, "sessionCacheBytes=" + sessionCacheBytes + " must be >= 0");
            require(maxTimers > 0, "maxTimers=" + maxTimers + " must be positive");
            require(maxPendingWrites > 0 && maxPendingWrites <= 1 << 20, "maxPendingWrites=" + maxPendingWrites + " must be in 1..1048576");
            require(maxPendingQueries > 0, "maxPendingQueries=" + maxPendingQueries + " must be positive");
            require(maxPendingOpens > 0, "maxPendingOpens=" + maxPendingOpens + " must be positive");
            require(maxBacklogBytes > 0, "maxBacklogBytes=" + maxBacklogBytes + " must be positive");
            require(electionTimeoutMinMs > 0 && electionTimeoutMaxMs >= electionTimeoutMinMs && heartbeatIntervalMs > 0 &&
                heartbeatIntervalMs < electionTimeoutMinMs, "election timeout " + electionTimeoutMinMs + ".." + electionTimeoutMaxMs +
                " ms and heartbeat " + heartbeatIntervalMs + " ms must be positive with heartbeat < election timeout");
            require(clientEndpoints.get(nodeId) != null, "member " + nodeId + " has no client endpoint");
            require(!requireClientAuth || clientCredentialsFile != null, "requireClientAuth=true needs a clientCredentialsFile");
            if (clusterKeyFile != null)
            {
                try
                {
                    KeyRing.load(clusterKeyFile);
                }
                catch (final IllegalArgumentException ex)
                {
                    throw new IllegalArgumentException("clusterKeyFile=" + clusterKeyFile + ": " + ex.getMessage(), ex);
                }
            }
            try
            {
                clientCredentials = clientCredentialsFile == null ? null :
                    ClientCredentials.watch(clientCredentialsFile);
            }
            catch (final IllegalArgumentException ex)
            {
                throw new IllegalArgumentException("clientCredentialsFile=" + clientCredentialsFile + ": " + ex.getMessage(), ex);
            }
            // A signed request carries ClientAuth.OVERHEAD more bytes than its content.
            maxRequestLength = ClientProtocol.REQUEST_HEADER + Math.max(maxCommandLength, 2 + 255) + ClientAuth.OVERHEAD;
            // Every write in flight may answer with the longest response at once: the ring holds them all.
            final long perWrite = BitUtil.align(8 + 32 + ServiceEntry.RESPONSE_HEADER + maxResponseLength, 8);
            final long needed = perWrite * maxPendingWrites + 48L * maxPendingQueries;
            require(needed <= 1 << 30, "maxPendingWrites=" + maxPendingWrites + " x maxResponseLength=" + maxResponseLength +
                " needs a results ring of " + needed + " bytes (at most 1 GiB)");
            resultsRingCapacity = BitUtil.findNextPositivePowerOfTwo((int)needed);
            concluded = true;
            return this;
        }

        private static void require(final boolean ok, final String message)
        {
            if (!ok)
            {
                throw new IllegalArgumentException(message);
            }
        }
    }
}
