package io.ringraft.bench.deployed;

import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Subscription;
import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftAgent;
import io.ringraft.RaftConfig;
import io.ringraft.ThreadingMode;
import io.ringraft.WriteHandler;
import io.ringraft.WriteStatus;
import io.ringraft.YieldThenParkIdleStrategy;
import io.ringraft.YieldThenWaitIdleStrategy;
import io.ringraft.bench.BenchClusters;
import io.ringraft.bench.aeron.BenchPorts;
import io.ringraft.bench.core.CountingStateMachine;
import io.ringraft.storage.DurabilityPolicy;
import io.ringraft.storage.InMemoryLogStorage;
import io.ringraft.storage.RaftLogStorage;
import io.ringraft.storage.chronicle.ChronicleLogStorage;
import io.ringraft.storage.chronicle.ChronicleStorageContext;
import io.ringraft.transport.aeron.AeronRaftNetwork;
import io.ringraft.transport.aeron.AeronTransportConfig;
import io.ringraft.transport.aeron.EmbeddedMediaDriver;
import io.ringraft.transport.aeron.PublicationChannels;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.IoUtil;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.CompositeAgent;
import org.agrona.concurrent.IdleStrategy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * ringraft in shapes A and B: three nodes in this JVM over Aeron UDP on 127.0.0.1, each with its own embedded
 * media driver ({@code driver=per-node}, the default) or all on one ({@code driver=shared}), a Chronicle log
 * under {@code ringraft.bench.dir} ({@code log=chronicle}, {@code durability=NONE}), every node setting at its
 * default. Shape A: a {@link BenchService} beside each node, the client over Aeron UDP with a media driver of
 * its own. Shape B: the client calls the leader's {@link Raft#clientWrite} in this JVM.
 */
final class RingraftShape implements Shape
{
    private static final int CLUSTER_ID = 1717;
    private static final int CLIENT_STREAM = 2001;

    private final boolean overAeron;
    private final Raft[] nodes = new Raft[3];
    private final AeronRaftNetwork[] networks = new AeronRaftNetwork[3];
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final List<Path> dirs = new ArrayList<>();
    private final BenchService[] services = new BenchService[3];
    private Map<String, String> settings;
    private Replies replies;
    private Raft leader;
    private ExclusivePublication toService;
    private Subscription fromService;
    private FragmentAssembler onReply;
    private final WriteHandler onWrite = this::onWrite;
    private AgentInvoker clientConductorInvoker;
    private Aeron client;
    private String[] serviceEndpoints;
    private volatile boolean leaderLost;
    private int leaderChanges;
    private AgentInvoker clientDriverInvoker;
    private EmbeddedMediaDriver clientDriver;

    RingraftShape(final boolean overAeron)
    {
        this.overAeron = overAeron;
    }

    @Override
    public void start(final Map<String, String> settings, final Replies replies) throws Exception
    {
        this.settings = settings;
        this.replies = replies;
        final String driverMode = settings.get("driver");
        if (!"per-node".equals(driverMode) && !"shared".equals(driverMode))
        {
            throw new IllegalArgumentException("driver=" + driverMode + " must be per-node or shared");
        }
        final String layout = settings.get("layout");
        if (!"threads".equals(layout) && !"composed".equals(layout))
        {
            throw new IllegalArgumentException("layout=" + layout + " must be threads or composed");
        }
        final boolean composed = "composed".equals(layout);
        // Composed: the node's driver and Aeron client conductor run in the node's duty cycle.
        final boolean invoker = composed || Boolean.parseBoolean(settings.get("invoker"));
        final EmbeddedMediaDriver hostDriver = "shared".equals(driverMode) ?
            keep(EmbeddedMediaDriver.launch(0, AeronTransportConfig.TERM_LENGTH_DEFAULT, false, idleStrategy(settings.get("driverIdle")))) :
            null;
        final Map<Long, String> raftEndpoints = new TreeMap<>();
        final String[] serviceEndpoints = new String[3];
        for (int i = 0; i < 3; i++)
        {
            raftEndpoints.put((long)(i + 1), "127.0.0.1:" + BenchPorts.freePort());
            serviceEndpoints[i] = "127.0.0.1:" + BenchPorts.freePort();
        }
        final String clientEndpoint = "127.0.0.1:" + BenchPorts.freePort();
        for (int i = 0; i < 3; i++)
        {
            final long id = i + 1;
            final AeronTransportConfig transport = new AeronTransportConfig().nodeId(id).clusterId(CLUSTER_ID).endpoints(raftEndpoints)
                .invoker(invoker);
            if (hostDriver != null)
            {
                transport.externalDriver(hostDriver.aeronDirectoryName());
            }
            final RaftConfig config = new RaftConfig().nodeId(id);
            if (!settings.get("replicationWindow").isEmpty())
            {
                config.replicationWindow(Integer.parseInt(settings.get("replicationWindow")));
            }
            if (composed)
            {
                config.threadingMode(ThreadingMode.INVOKER);
            }
            else if (!"default".equals(settings.get("nodeIdle")))
            {
                config.coreIdleStrategy(() -> idleStrategy(settings.get("nodeIdle")));
            }
            final RaftLogStorage log = storage(id);
            networks[i] = new AeronRaftNetwork(transport);
            nodes[i] = Raft.start(config, log, BenchClusters.snapshotStoreFor(log), networks[i], new CountingStateMachine(), Membership.of(1, 2, 3));
            closeables.add(0, nodes[i]);
            if (overAeron)
            {
                services[i] = composed ?
                    new BenchService(nodes[i], networks[i].aeron(), false, serviceEndpoints[i], clientEndpoint, CLIENT_STREAM) :
                    new BenchService(nodes[i], Aeron.connect(new Aeron.Context().aeronDirectoryName(networks[i].aeronDirectoryName())), true,
                        serviceEndpoints[i], clientEndpoint, CLIENT_STREAM);
            }
            // One thread per node when composed: Raft (core, state machine, network, driver, conductor) and the service.
            // Started at once: an Aeron client in invoker mode must be run at least every 10 s, or it fails.
            final Agent agent = composed ? (services[i] != null ? new CompositeAgent(new RaftAgent(nodes[i]), services[i]) :
                new RaftAgent(nodes[i])) : services[i];
            if (agent != null)
            {
                final IdleStrategy idle = idleStrategy(settings.get("nodeIdle"));
                if (idle instanceof YieldThenWaitIdleStrategy)
                {
                    if (!composed || hostDriver != null)
                    {
                        throw new IllegalArgumentException("nodeIdle=ytw needs layout=composed with a driver per node");
                    }
                    final Raft node = nodes[i];
                    ((YieldThenWaitIdleStrategy)idle).bind(networks[i].socketWaiter(), node::hasPendingInput);
                    node.inputSignal(((YieldThenWaitIdleStrategy)idle)::wake);
                }
                final AgentRunner runner = new AgentRunner(idle, Throwable::printStackTrace, null, agent);
                AgentRunner.startOnThread(runner);
                closeables.add(0, runner);
            }
        }
        nodes[0].triggerElection();
        leader = BenchClusters.awaitStableLeader(nodes, () -> LockSupport.parkNanos(1_000_000), 60, TimeUnit.SECONDS);
        if (!overAeron)
        {
            return;
        }
        // Client composed: its driver (unless shared) and conductor run in the load thread's poll().
        final boolean clientComposed = "composed".equals(settings.get("client"));
        final Aeron.Context clientContext = new Aeron.Context().useConductorAgentInvoker(clientComposed);
        if (hostDriver != null)
        {
            clientContext.aeronDirectoryName(hostDriver.aeronDirectoryName());
        }
        else
        {
            final EmbeddedMediaDriver clientDriver = EmbeddedMediaDriver.launch(99, AeronTransportConfig.TERM_LENGTH_DEFAULT, clientComposed);
            closeables.add(clientDriver);
            clientContext.aeronDirectoryName(clientDriver.aeronDirectoryName());
            if (clientComposed)
            {
                clientContext.driverAgentInvoker(clientDriver.invoker());
                clientDriverInvoker = clientDriver.invoker();
                this.clientDriver = clientDriver;
            }
        }
        final Aeron client = Aeron.connect(clientContext);
        clientConductorInvoker = clientComposed ? client.conductorAgentInvoker() : null;
        closeables.add(0, client);
        this.client = client;
        this.serviceEndpoints = serviceEndpoints;
        toService = publicationTo(leader);
        fromService = client.addSubscription(new ChannelUriStringBuilder().media("udp").endpoint(clientEndpoint).build(), CLIENT_STREAM);
        onReply = new FragmentAssembler((buffer, offset, length, header) ->
        {
            final long value = buffer.getLong(offset);
            if (value < 0)
            {
                leaderLost = true;
            }
            this.replies.onReply(value >= 0 ? value : -value - 1, value >= 0);
        });
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        // The client's subscription hears every service; it is the leader's replies that must be connected.
        while (!toService.isConnected() || !services[(int)leader.nodeId() - 1].isEgressConnected())
        {
            if (System.nanoTime() > deadline)
            {
                throw new IllegalStateException("client not connected to the leader's service within 30 s");
            }
            poll();
            LockSupport.parkNanos(100_000);
        }
    }

    /** @return the idle strategy named by {@code nodeIdle} or {@code driverIdle}: the node's default backoff, or yield-then-park */
    static IdleStrategy idleStrategy(final String name)
    {
        switch (name)
        {
            case "default":
            case "backoff":
                return new BackoffIdleStrategy(10, 20, 1_000, 1_000_000);
            case "ytp":
                return new YieldThenParkIdleStrategy();
            case "ytw":
                return new YieldThenWaitIdleStrategy();
            default:
                throw new IllegalArgumentException("nodeIdle/driverIdle=" + name + " must be default, backoff, ytp or ytw (nodeIdle, composed)");
        }
    }

    private <T extends AutoCloseable> T keep(final T closeable)
    {
        closeables.add(closeable);
        return closeable;
    }

    private RaftLogStorage storage(final long id) throws IOException
    {
        if ("memory".equals(settings.get("log")))
        {
            return new InMemoryLogStorage(256 * 1024, 256L * 1024 * 72);
        }
        final Path parent = Paths.get(System.getProperty("ringraft.bench.dir", System.getProperty("java.io.tmpdir")));
        final Path dir = Files.createTempDirectory(parent, "deployed-" + id + "-");
        dirs.add(dir);
        return ChronicleLogStorage.open(new ChronicleStorageContext().directory(dir.resolve(BenchClusters.LOG_DIRECTORY))
            .durability(DurabilityPolicy.valueOf(settings.get("durability"))));
    }

    private ExclusivePublication publicationTo(final Raft node)
    {
        return client.addExclusivePublication(PublicationChannels.udp(serviceEndpoints[(int)node.nodeId() - 1],
            AeronTransportConfig.TERM_LENGTH_DEFAULT, PublicationChannels.MTU_AUTO), CLIENT_STREAM);
    }

    @Override
    public boolean offer(final DirectBuffer payload, final int length)
    {
        if (leaderLost && !followLeader())
        {
            return false;
        }
        if (overAeron)
        {
            return toService.offer(payload, 0, length) > 0;
        }
        final int status = leader.clientWrite(payload, 0, length, payload.getLong(0), onWrite);
        if (status == WriteStatus.OK)
        {
            return true;
        }
        if (status != WriteStatus.BACK_PRESSURED)
        {
            leaderLost = true;
        }
        return false;
    }

    /**
     * After a refusal (the leadership moved, as it can when the machine starves a node of CPU for longer than an
     * election timeout), sends to the new leader, as a client library would.
     *
     * @return true once commands can be sent again
     */
    private boolean followLeader()
    {
        for (final Raft node : nodes)
        {
            if (node.isLeader())
            {
                if (node != leader)
                {
                    leader = node;
                    leaderChanges++;
                    if (overAeron)
                    {
                        CloseHelper.close(toService);
                        toService = publicationTo(node);
                    }
                }
                if (overAeron && (!toService.isConnected() || !services[(int)node.nodeId() - 1].isEgressConnected()))
                {
                    return false;
                }
                leaderLost = false;
                return true;
            }
        }
        return false;
    }

    private void onWrite(final long seq, final int status, final long index, final long leaderId, final DirectBuffer response,
        final int offset, final int length)
    {
        if (status != WriteStatus.OK)
        {
            leaderLost = true;
        }
        replies.onReply(seq, status == WriteStatus.OK);
    }

    @Override
    public int poll()
    {
        if (!overAeron)
        {
            return 0;
        }
        int work = 0;
        if (clientConductorInvoker != null)
        {
            work += clientConductorInvoker.invoke();
        }
        if (clientDriverInvoker != null)
        {
            work += clientDriverInvoker.invoke();
        }
        return work + fromService.poll(onReply, 256);
    }

    @Override
    public String describe()
    {
        final io.ringraft.RaftMetrics m = leader.metrics();
        long refused = 0;
        long retries = 0;
        for (final BenchService service : services)
        {
            if (service != null)
            {
                refused += service.refused();
                retries += service.replyRetries();
            }
        }
        return "ringraft shape " + (overAeron ? "A (service over Aeron UDP, client with its own driver)" : "B (in-process clientWrite)") +
            " leader=" + leader.nodeId() + " term=" + leader.term() + " leaderChanges=" + leaderChanges + " log=" + settings.get("log") +
            "/" + settings.get("durability") + " driver=" + settings.get("driver") + ("shared".equals(settings.get("driver")) ? " driverIdle=" + settings.get("driverIdle") : "") +
            " layout=" + settings.get("layout") + " invoker=" +
            settings.get("invoker") + " nodeIdle=" + settings.get("nodeIdle") + " replicationWindow=" + settings.get("replicationWindow") +
            " client=" + settings.get("client") + " other node settings: defaults" +
            " sendsRetried=" + m.sendsRetried() + " sendsDropped=" + m.sendsDropped() + " backPressureEvents=" + m.backPressureEvents() +
            (overAeron ? " serviceRefused=" + refused + " replyRetries=" + retries : "");
    }

    @Override
    public void close()
    {
        for (final AutoCloseable c : closeables)
        {
            CloseHelper.quietClose(c);
        }
        for (final Path dir : dirs)
        {
            IoUtil.delete(dir.toFile(), true);
        }
    }

    @Override
    public void bindClientIdle(final YieldThenWaitIdleStrategy idle)
    {
        if (clientDriver == null)
        {
            Shape.super.bindClientIdle(idle);
        }
        // The load thread is the client's only producer: nothing reaches it but through its sockets.
        idle.bind(clientDriver.socketWaiter(), () -> false);
    }
}
