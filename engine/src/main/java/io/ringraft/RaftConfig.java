package io.ringraft;

import io.ringraft.engine.EngineConfig;
import io.ringraft.engine.PlantedBug;
import org.agrona.ErrorHandler;
import io.ringraft.engine.TestControl;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.SystemNanoClock;

import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The settings of one node, in the style of an Aeron {@code Context}: fluent setters, defaults
 * that run three nodes in one JVM on two cores, and {@link #conclude()} which validates every
 * value and names the bad setting.
 * <p>
 * The default idle strategy backs off to parking, so an idle node costs little CPU; for lowest
 * latency in production use {@link ThreadingMode#DEDICATED} with a busy-spin strategy on
 * dedicated cores (never on a machine with fewer cores than spinning threads).
 */
public final class RaftConfig
{
    /** The default of {@link #snapshotLogRatio(double)}: the log since a large snapshot as large as the snapshot. */
    public static final double DEFAULT_SNAPSHOT_LOG_RATIO = 1.0;

    /**
     * The bytes of framing an entry carries on the network besides its payload (message header,
     * AppendEntries fields, entry header), with margin: a payload fits one message if
     * {@code payload + MESSAGE_OVERHEAD <= RaftNetwork.maxMessageLength()}.
     */
    public static final int MESSAGE_OVERHEAD = 256;
    /** The largest payload the default {@link #maxPayloadLength(int)} takes when the network carries more. */
    public static final int DEFAULT_MAX_PAYLOAD_LENGTH = 64 * 1024;

    private long nodeId;
    private long electionTimeoutMinNanos = TimeUnit.MILLISECONDS.toNanos(300);
    private long electionTimeoutMaxNanos = TimeUnit.MILLISECONDS.toNanos(600);
    private int electionBackoffLimit = 2;
    private long heartbeatIntervalNanos = TimeUnit.MILLISECONDS.toNanos(50);
    private int ingressRingSize = 4096;
    private int applyRingSize = 4096;
    private long applyTimeSliceNanos = TimeUnit.MILLISECONDS.toNanos(1);
    private Executor snapshotExecutor;
    private int maxPayloadLength;
    private int replicationWindow = 64;
    private int maxEntriesPerAppend = 512;
    private int maxWritesPerBatch = 1024;
    private int sendQueueCapacity = 256;
    private int maxUncommittedEntries = 65_536;
    private int ringSlotBytes = 1024;
    private long maxRingPayloadBytes = 64L * 1024 * 1024;
    private long maxUncommittedBytes = 64L * 1024 * 1024;
    private long clientTimeoutNanos = TimeUnit.SECONDS.toNanos(10);
    private boolean preVote = true;
    private boolean checkQuorum = true;
    private ThreadingMode threadingMode = ThreadingMode.SHARED;
    private Supplier<IdleStrategy> coreIdleStrategy = () -> new BackoffIdleStrategy(10, 20, 1_000, 1_000_000);
    private Supplier<IdleStrategy> stateMachineIdleStrategy = () -> new BackoffIdleStrategy(10, 20, 1_000, 1_000_000);
    private NanoClock nanoClock = SystemNanoClock.INSTANCE;
    private long randomSeed = System.nanoTime();
    private java.nio.file.Path countersFile;
    private long snapshotEveryEntries = 100_000;
    private double snapshotLogRatio = DEFAULT_SNAPSHOT_LOG_RATIO;
    private long snapshotLogRatioFromBytes = 16L << 20;
    private int snapshotChunkSize = 6 * 1024;
    private long logRetainEntries = 1024;
    private long maxClockDriftNanos = TimeUnit.MILLISECONDS.toNanos(15);
    private PlantedBug plantedBug = PlantedBug.NONE;
    private ErrorHandler errorHandler = RaftConfig::logError;
    private RaftEventListener eventListener = RaftEventListener.NONE;
    private TestControl testControl;
    private boolean concluded;

    /** @param id this node's id, positive */
    public RaftConfig nodeId(final long id)
    {
        nodeId = id;
        return this;
    }

    /** @return the {@code nodeId} setting */
    public long nodeId()
    {
        return nodeId;
    }

    /** @param min the lower bound, @param max the upper bound of the randomized election timeout */
    public RaftConfig electionTimeout(final long min, final long max, final TimeUnit unit)
    {
        electionTimeoutMinNanos = unit.toNanos(min);
        electionTimeoutMaxNanos = unit.toNanos(max);
        return this;
    }

    /** @return the {@code electionTimeoutMinNanos} setting */
    public long electionTimeoutMinNanos()
    {
        return electionTimeoutMinNanos;
    }

    /** @return the {@code electionTimeoutMaxNanos} setting */
    public long electionTimeoutMaxNanos()
    {
        return electionTimeoutMaxNanos;
    }

    /**
     * @param doublings how many times in a row an election that ends without a leader doubles the
     *                  next election timeout (0 to 6, default 2: up to four times the configured
     *                  bounds); back to the configured bounds once a leader is heard from. Where an
     *                  election's round trips take longer than the timeout (slow, lossy links), the
     *                  next attempt waits for them instead of starting over in a new term.
     * @return this
     */
    public RaftConfig electionBackoffLimit(final int doublings)
    {
        electionBackoffLimit = doublings;
        return this;
    }

    /** @return the {@code electionBackoffLimit} setting */
    public int electionBackoffLimit()
    {
        return electionBackoffLimit;
    }

    /** @param interval how often a leader sends heartbeats; below the election timeout */
    public RaftConfig heartbeatInterval(final long interval, final TimeUnit unit)
    {
        heartbeatIntervalNanos = unit.toNanos(interval);
        return this;
    }

    /** @return the {@code heartbeatIntervalNanos} setting */
    public long heartbeatIntervalNanos()
    {
        return heartbeatIntervalNanos;
    }

    /** @param size slots in the ingress ring (client writes and reads), a power of two */
    public RaftConfig ingressRingSize(final int size)
    {
        ingressRingSize = size;
        return this;
    }

    /** @return the {@code ingressRingSize} setting */
    public int ingressRingSize()
    {
        return ingressRingSize;
    }

    /**
     * @param slice how long one duty cycle of the state-machine agent may apply entries before it
     *              lets the agents that share its thread run ({@code SHARED}, {@code INVOKER}: the
     *              core, whose heartbeats then wait at most this plus one entry's apply); default 1 ms
     * @param unit  its unit
     */
    public RaftConfig applyTimeSlice(final long slice, final TimeUnit unit)
    {
        applyTimeSliceNanos = unit.toNanos(slice);
        return this;
    }

    /** @return the {@code applyTimeSliceNanos} setting */
    public long applyTimeSliceNanos()
    {
        return applyTimeSliceNanos;
    }

    /**
     * @param executor where the state machine's snapshots are built; null (the default) for a
     *                 thread of the node's own, {@code ringraft-snapshot-<id>}, in every threading
     *                 mode, so a build never holds up the core. {@code Runnable::run} builds on the
     *                 state-machine agent's thread (the deterministic simulator does so)
     */
    public RaftConfig snapshotExecutor(final Executor executor)
    {
        snapshotExecutor = executor;
        return this;
    }

    /** @return the {@code snapshotExecutor} setting, null for the node's own thread */
    public Executor snapshotExecutor()
    {
        return snapshotExecutor;
    }

    /** @param size slots in the apply ring (committed entries to the state machine), a power of two */
    public RaftConfig applyRingSize(final int size)
    {
        applyRingSize = size;
        return this;
    }

    /** @return the {@code applyRingSize} setting */
    public int applyRingSize()
    {
        return applyRingSize;
    }

    /**
     * @param length the largest client payload accepted, in bytes; 0 (the default) derives it when
     *               the node starts: {@value #DEFAULT_MAX_PAYLOAD_LENGTH}, or less if the network's
     *               largest message less {@link #MESSAGE_OVERHEAD} is smaller
     */
    public RaftConfig maxPayloadLength(final int length)
    {
        maxPayloadLength = length;
        return this;
    }

    /** @return the {@code maxPayloadLength} setting (0 until derived when the node starts, if not set) */
    public int maxPayloadLength()
    {
        return maxPayloadLength;
    }

    /** @param window AppendEntries requests in flight per follower */
    public RaftConfig replicationWindow(final int window)
    {
        replicationWindow = window;
        return this;
    }

    /** @return the {@code replicationWindow} setting */
    public int replicationWindow()
    {
        return replicationWindow;
    }

    /** @param count the most entries one AppendEntries carries */
    public RaftConfig maxEntriesPerAppend(final int count)
    {
        maxEntriesPerAppend = count;
        return this;
    }

    /** @return the {@code maxEntriesPerAppend} setting */
    public int maxEntriesPerAppend()
    {
        return maxEntriesPerAppend;
    }

    /** @param count the most client writes appended as one group commit */
    public RaftConfig maxWritesPerBatch(final int count)
    {
        maxWritesPerBatch = count;
        return this;
    }

    /** @return the {@code maxWritesPerBatch} setting */
    public int maxWritesPerBatch()
    {
        return maxWritesPerBatch;
    }

    /** @param capacity messages queued per peer while the network is back-pressured */
    public RaftConfig sendQueueCapacity(final int capacity)
    {
        sendQueueCapacity = capacity;
        return this;
    }

    /** @return the {@code sendQueueCapacity} setting */
    public int sendQueueCapacity()
    {
        return sendQueueCapacity;
    }

    /**
     * @param entries the most entries a leader holds in its log uncommitted (etcd's
     *                {@code MaxUncommittedEntriesSize}, by count): writes beyond it are answered
     *                {@link WriteStatus#BACK_PRESSURED} and not written, so a leader whose followers
     *                stall holds bounded work
     */
    public RaftConfig maxUncommittedEntries(final int entries)
    {
        maxUncommittedEntries = entries;
        return this;
    }

    /** @return the {@code maxUncommittedEntries} setting */
    public int maxUncommittedEntries()
    {
        return maxUncommittedEntries;
    }

    /**
     * @param bytes the most payload bytes of client writes a leader holds uncommitted (accepted
     *              and not yet answered): writes beyond it are answered
     *              {@link WriteStatus#BACK_PRESSURED} and not written
     */
    public RaftConfig maxUncommittedBytes(final long bytes)
    {
        maxUncommittedBytes = bytes;
        return this;
    }

    /** @return the {@code maxUncommittedBytes} setting */
    public long maxUncommittedBytes()
    {
        return maxUncommittedBytes;
    }

    /**
     * @param bytes the payload bytes each slot of the ingress and apply rings keeps (its buffer
     *              grows to this and is reused: no allocation for payloads up to it)
     */
    public RaftConfig ringSlotBytes(final int bytes)
    {
        ringSlotBytes = bytes;
        return this;
    }

    /** @return the {@code ringSlotBytes} setting */
    public int ringSlotBytes()
    {
        return ringSlotBytes;
    }

    /**
     * @param bytes the most bytes each ring holds for payloads larger than {@link #ringSlotBytes}
     *              (a slot gives a grown buffer up once its payload is consumed); a write that
     *              does not fit is refused {@link WriteStatus#BACK_PRESSURED}, a committed entry
     *              that does not fit waits for the state machine
     */
    public RaftConfig maxRingPayloadBytes(final long bytes)
    {
        maxRingPayloadBytes = bytes;
        return this;
    }

    /** @return the {@code maxRingPayloadBytes} setting */
    public long maxRingPayloadBytes()
    {
        return maxRingPayloadBytes;
    }

    /**
     * The ceiling of the heap the node's runtime uses for work in flight, from these settings:
     * the two rings' payloads ({@code (ingressRingSize + applyRingSize) * ringSlotBytes + 2 *
     * maxRingPayloadBytes}), the leader's uncommitted writes ({@code maxUncommittedBytes} plus 80
     * bytes of bookkeeping per entry up to {@code maxUncommittedEntries}), and per peer the
     * replication buffer and send queue ({@code max(64 KiB, maxPayloadLength + 256) +
     * sendQueueCapacity * snapshotChunkSize}). Not included: the log storage (an in-memory log
     * holds its entries until a snapshot purges them), the network's own buffers and the state
     * machine.
     *
     * @param peers how many other nodes this node replicates to
     * @return the ceiling in bytes
     */
    public long runtimeHeapCeilingBytes(final int peers)
    {
        return (long)(ingressRingSize + applyRingSize) * ringSlotBytes + 2 * maxRingPayloadBytes + maxUncommittedBytes +
            80L * maxUncommittedEntries + (long)peers * (Math.max(64 * 1024, maxPayloadLength + 256) + (long)sendQueueCapacity * snapshotChunkSize);
    }

    /** @param timeout how long an accepted write waits for its outcome before {@link WriteStatus#TIMED_OUT} */
    public RaftConfig clientTimeout(final long timeout, final TimeUnit unit)
    {
        clientTimeoutNanos = unit.toNanos(timeout);
        return this;
    }

    /** @return the {@code clientTimeoutNanos} setting */
    public long clientTimeoutNanos()
    {
        return clientTimeoutNanos;
    }

    /** @param enabled whether candidates first ask for pre-votes */
    public RaftConfig preVote(final boolean enabled)
    {
        preVote = enabled;
        return this;
    }

    /** @param enabled whether a leader that cannot hear from a quorum steps down */
    public RaftConfig checkQuorum(final boolean enabled)
    {
        checkQuorum = enabled;
        return this;
    }

    /** @param mode how the node's agents get threads */
    public RaftConfig threadingMode(final ThreadingMode mode)
    {
        threadingMode = mode;
        return this;
    }

    /** @return the {@code threadingMode} setting */
    public ThreadingMode threadingMode()
    {
        return threadingMode;
    }

    /** @param supplier the idle strategy of {@code RaftCore} (and of the shared thread in {@link ThreadingMode#SHARED}) */
    public RaftConfig coreIdleStrategy(final Supplier<IdleStrategy> supplier)
    {
        coreIdleStrategy = supplier;
        return this;
    }

    /** @return the {@code coreIdleStrategy} setting */
    public Supplier<IdleStrategy> coreIdleStrategy()
    {
        return coreIdleStrategy;
    }

    /** @param supplier the idle strategy of the state-machine worker in {@link ThreadingMode#DEDICATED} */
    public RaftConfig stateMachineIdleStrategy(final Supplier<IdleStrategy> supplier)
    {
        stateMachineIdleStrategy = supplier;
        return this;
    }

    /** @return the {@code stateMachineIdleStrategy} setting */
    public Supplier<IdleStrategy> stateMachineIdleStrategy()
    {
        return stateMachineIdleStrategy;
    }

    /** @param clock the clock the node's timers read (tests inject a controllable one) */
    public RaftConfig nanoClock(final NanoClock clock)
    {
        nanoClock = clock;
        return this;
    }

    /** @return the {@code nanoClock} setting */
    public NanoClock nanoClock()
    {
        return nanoClock;
    }

    /** @param seed the seed of the randomized election timeouts */
    public RaftConfig randomSeed(final long seed)
    {
        randomSeed = seed;
        return this;
    }

    /** @return the {@code randomSeed} setting */
    public long randomSeed()
    {
        return randomSeed;
    }

    /** @param entries build a snapshot after this many entries applied since the last one; 0 for never (only on trigger) */
    public RaftConfig snapshotEveryEntries(final long entries)
    {
        snapshotEveryEntries = entries;
        return this;
    }

    /** @return the {@code snapshotEveryEntries} setting */
    public long snapshotEveryEntries()
    {
        return snapshotEveryEntries;
    }

    /**
     * How far the log must grow before a large snapshot is followed by the next: once the last snapshot is larger than
     * {@link #snapshotLogRatioFromBytes(long)}, the next one waits, beyond {@link #snapshotEveryEntries(long)}, until
     * the entries applied since it carry {@code ratio} times its size in payload bytes. Why: a snapshot writes the
     * whole state, so with a state that grows with the log (every write a new key), a snapshot every fixed number of
     * entries costs more and more per entry, and the snapshots' work grows with the square of the log. With the
     * ratio it stays within {@code 1 / ratio} times the bytes written to the log, and the log kept behind the last
     * snapshot within {@code ratio} times its size (Redis rewrites its append-only file by the same rule). Default
     * 1.0; 0 for entries alone.
     *
     * @param ratio log payload bytes since the last snapshot, per byte of it, at least 0
     */
    public RaftConfig snapshotLogRatio(final double ratio)
    {
        snapshotLogRatio = ratio;
        return this;
    }

    /** @return the {@code snapshotLogRatio} setting */
    public double snapshotLogRatio()
    {
        return snapshotLogRatio;
    }

    /**
     * @param bytes snapshots up to this size are followed by the next after {@link #snapshotEveryEntries(long)} entries
     *              alone, whatever {@link #snapshotLogRatio(double)} says (they are cheap); default 16 MiB, at least 0
     */
    public RaftConfig snapshotLogRatioFromBytes(final long bytes)
    {
        snapshotLogRatioFromBytes = bytes;
        return this;
    }

    /** @return the {@code snapshotLogRatioFromBytes} setting */
    public long snapshotLogRatioFromBytes()
    {
        return snapshotLogRatioFromBytes;
    }

    /** @param bytes the snapshot bytes per InstallSnapshot message; must fit the network's largest message */
    public RaftConfig snapshotChunkSize(final int bytes)
    {
        snapshotChunkSize = bytes;
        return this;
    }

    /** @return the {@code snapshotChunkSize} setting */
    public int snapshotChunkSize()
    {
        return snapshotChunkSize;
    }

    /** @param entries how many entries behind a snapshot stay in the log, for followers that lag a little */
    public RaftConfig logRetainEntries(final long entries)
    {
        logRetainEntries = entries;
        return this;
    }

    /**
     * @param drift the most that node clocks may disagree on the length of an election timeout;
     *              {@link ReadPolicy#LEASE} reads trust a lease that much shorter than the timeout
     */
    public RaftConfig maxClockDrift(final long drift, final TimeUnit unit)
    {
        maxClockDriftNanos = unit.toNanos(drift);
        return this;
    }

    /**
     * @param bug a deliberate protocol bug, for proving that a fault-injection run's checks catch
     *            it; test-only, {@link PlantedBug#NONE} (the default) everywhere else
     */
    public RaftConfig plantedBug(final PlantedBug bug)
    {
        plantedBug = bug;
        return this;
    }

    /** @return the planted bug, {@link PlantedBug#NONE} unless a test set one */
    public PlantedBug plantedBug()
    {
        return plantedBug;
    }

    /**
     * @param file where the node keeps its counters so that other processes (the {@code ringraft
     *             status} command, Aeron-style tools) can read them; null keeps them in memory
     */
    public RaftConfig countersFile(final java.nio.file.Path file)
    {
        countersFile = file;
        return this;
    }

    /** @return the {@code countersFile} setting */
    public java.nio.file.Path countersFile()
    {
        return countersFile;
    }

    /**
     * @param handler receives every error of the node, on the thread that met it: the failure that
     *                stopped the node (then {@code Raft.failure()} holds it too) and exceptions thrown by
     *                application callbacks ({@link WriteHandler}s), which are caught and do not stop the
     *                node. It must not throw (what it throws is dropped) and should return quickly.
     *                The default logs through {@link System.Logger} "io.ringraft" at level ERROR.
     */
    public RaftConfig errorHandler(final ErrorHandler handler)
    {
        errorHandler = handler;
        return this;
    }

    /** @return the {@code errorHandler} setting */
    public ErrorHandler errorHandler()
    {
        return errorHandler;
    }

    /** @param listener learns of role, leader, term, membership and snapshot changes and of a failure; see {@link RaftEventListener} */
    public RaftConfig eventListener(final RaftEventListener listener)
    {
        eventListener = listener;
        return this;
    }

    /** @return the {@code eventListener} setting */
    public RaftEventListener eventListener()
    {
        return eventListener;
    }

    private static void logError(final Throwable error)
    {
        System.getLogger("io.ringraft").log(System.Logger.Level.ERROR, "ringraft: " + error, error);
    }

    /**
     * Validates every setting.
     *
     * @return this
     * @throws IllegalArgumentException naming the first bad setting and its value
     */
    public RaftConfig conclude()
    {
        require(nodeId > 0, "nodeId", nodeId, "must be positive");
        powerOfTwo("ingressRingSize", ingressRingSize);
        powerOfTwo("applyRingSize", applyRingSize);
        require(maxPayloadLength >= 0 && maxPayloadLength <= 16 * 1024 * 1024, "maxPayloadLength", maxPayloadLength,
            "must be in 1..16777216, or 0 to derive it from the network");
        require(replicationWindow >= 1, "replicationWindow", replicationWindow, "must be at least 1");
        require(maxEntriesPerAppend >= 1, "maxEntriesPerAppend", maxEntriesPerAppend, "must be at least 1");
        require(maxWritesPerBatch >= 1, "maxWritesPerBatch", maxWritesPerBatch, "must be at least 1");
        require(sendQueueCapacity >= 1, "sendQueueCapacity", sendQueueCapacity, "must be at least 1");
        require(maxUncommittedEntries >= maxWritesPerBatch, "maxUncommittedEntries", maxUncommittedEntries,
            "must be at least maxWritesPerBatch (" + maxWritesPerBatch + ")");
        require(ringSlotBytes >= 16, "ringSlotBytes", ringSlotBytes, "must be at least 16");
        require(maxRingPayloadBytes >= maxPayloadLength, "maxRingPayloadBytes", maxRingPayloadBytes,
            "must be at least maxPayloadLength (" + maxPayloadLength + ")");
        require(maxUncommittedBytes >= maxPayloadLength, "maxUncommittedBytes", maxUncommittedBytes,
            "must be at least maxPayloadLength (" + maxPayloadLength + ")");
        require(clientTimeoutNanos > 0, "clientTimeoutNanos", clientTimeoutNanos, "must be positive");
        require(applyTimeSliceNanos > 0, "applyTimeSliceNanos", applyTimeSliceNanos, "must be positive");
        require(threadingMode != null, "threadingMode", 0, "must be set");
        require(coreIdleStrategy != null, "coreIdleStrategy", 0, "must be set");
        require(stateMachineIdleStrategy != null, "stateMachineIdleStrategy", 0, "must be set");
        require(nanoClock != null, "nanoClock", 0, "must be set");
        require(errorHandler != null, "errorHandler", 0, "must be set");
        require(eventListener != null, "eventListener", 0, "must be set (RaftEventListener.NONE for none)");
        require(snapshotEveryEntries >= 0, "snapshotEveryEntries", snapshotEveryEntries, "must be >= 0");
        if (!(snapshotLogRatio >= 0 && snapshotLogRatio <= 1_000_000))
        {
            throw new IllegalArgumentException("snapshotLogRatio=" + snapshotLogRatio + " must be between 0 and 1000000");
        }
        require(snapshotLogRatioFromBytes >= 0, "snapshotLogRatioFromBytes", snapshotLogRatioFromBytes, "must be >= 0");
        require(snapshotChunkSize >= 256, "snapshotChunkSize", snapshotChunkSize, "must be at least 256");
        engineConfig().validate();
        concluded = true;
        return this;
    }

    /** @return true once {@link #conclude()} has passed */
    public boolean isConcluded()
    {
        return concluded;
    }

    /**
     * Test-only: switches a harness flips while the node runs (timers, a purge); see
     * {@link TestControl}.
     *
     * @param control the switches, or null (the default)
     */
    public RaftConfig testControl(final TestControl control)
    {
        this.testControl = control;
        return this;
    }

    /** @return the protocol part of these settings */
    public EngineConfig engineConfig()
    {
        return new EngineConfig().nodeId(nodeId).electionTimeoutMinNanos(electionTimeoutMinNanos)
            .electionTimeoutMaxNanos(electionTimeoutMaxNanos).electionBackoffLimit(electionBackoffLimit).heartbeatIntervalNanos(heartbeatIntervalNanos)
            .maxInflightAppends(replicationWindow).maxEntriesPerAppend(maxEntriesPerAppend).preVote(preVote).checkQuorum(checkQuorum)
            .logRetainEntries(logRetainEntries).maxClockDriftNanos(maxClockDriftNanos)
            .plantedBug(plantedBug).testControl(testControl);
    }

    private static void powerOfTwo(final String name, final int value)
    {
        require(value >= 2 && Integer.bitCount(value) == 1, name, value, "must be a power of two >= 2");
    }

    private static void require(final boolean ok, final String name, final long value, final String rule)
    {
        if (!ok)
        {
            throw new IllegalArgumentException(name + "=" + value + ": " + rule);
        }
    }
}
