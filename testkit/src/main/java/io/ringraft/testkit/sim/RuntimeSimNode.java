package io.ringraft.testkit.sim;

import io.ringraft.AdminResult;
import io.ringraft.AdminStatus;
import io.ringraft.Entry;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftConfig;
import io.ringraft.RaftException;
import io.ringraft.RaftMetrics;
import io.ringraft.ReadPolicy;
import io.ringraft.ThreadingMode;
import io.ringraft.Vote;
import io.ringraft.WriteStatus;
import io.ringraft.engine.EngineConfig;
import io.ringraft.engine.Role;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.RaftNetwork;
import io.ringraft.statemachine.RaftStateMachine;
import io.ringraft.storage.EntryReader;
import io.ringraft.storage.InMemorySnapshotStore;
import io.ringraft.storage.RaftLogStorage;
import io.ringraft.storage.RaftSnapshotStore;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import io.ringraft.statemachine.KvStateMachine;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

/**
 * A {@link SimNode} that runs the real runtime, {@link Raft} with its {@code RaftCore} and state-machine
 * worker, in {@link ThreadingMode#INVOKER} mode: the simulator calls {@link Raft#doWork()} on every
 * event for the node (a message delivered, a flush done, a client call) and every millisecond of
 * simulated time, and the node's {@link RaftConfig#nanoClock clock} is its simulated local clock.
 * <ul>
 *     <li>Network: a send schedules the delivery on the {@link SimNetwork}; a delivered message waits
 *         in an inbox that the runtime polls.</li>
 *     <li>Log: the node's {@link SimLogStorage}. {@code RaftCore} calls {@code flush()} once per duty
 *         cycle while something is not durable and takes the returned id as durable; here {@code flush()}
 *         schedules a simulated flush and returns only what the last simulated flush made durable, so
 *         durability stays delayed and a crash loses what a real disk would.</li>
 *     <li>Snapshots: an {@link InMemorySnapshotStore} that survives crashes.</li>
 *     <li>Clients: writes through {@link Raft#clientWrite(DirectBuffer, int, int, long, io.ringraft.WriteHandler)},
 *         reads through {@link Raft#ensureLinearizable(ReadPolicy)} then a read of the local state
 *         machine, administration through the futures of {@link Raft}. Outcomes are handed to the
 *         clients after the duty cycle that produced them, in the order they came.</li>
 * </ul>
 * A crash closes the {@link Raft} (every pending outcome becomes unknown to its client) and drops the
 * unflushed log; a restart starts a new {@link Raft} on the durable log, vote and snapshot.
 */
public final class RuntimeSimNode extends BaseSimNode
{
    /** How often the simulator runs a duty cycle of an idle node, in simulated time. */
    static final long DUTY_CYCLE_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

    private final boolean ackBeforeDurable;
    private final ArrayDeque<Runnable> outcomes = new ArrayDeque<>();
    private final TreeMap<Long, PendingWrite> pendingWrites = new TreeMap<>();
    private final UnsafeBuffer writeBuffer = new UnsafeBuffer(new byte[0]);
    private Raft raft;
    private Incarnation incarnation;
    private long lastWorkNanos;
    private long correlationIds;
    private Role lastRole;
    private long lastLeaderTerm;
    /** A check that failed inside a duty cycle, where the runtime's error handler would swallow it. */
    private InvariantViolation violation;

    RuntimeSimNode(final SimCluster cluster, final long id, final EngineConfig engineConfig, final long clockOffset,
        final double clockRate, final long snapshotEvery, final int snapshotChunkBytes, final boolean ackBeforeDurable)
    {
        super(cluster, id, engineConfig, clockOffset, clockRate, snapshotEvery, snapshotChunkBytes);
        this.ackBeforeDurable = ackBeforeDurable;
    }

    @Override
    public void start(final Membership membership, final long simNanos)
    {
        open(membership, simNanos);
    }

    @Override
    public long nextWakeup()
    {
        return lastWorkNanos + DUTY_CYCLE_NANOS;
    }

    @Override
    public void tick(final long simNanos)
    {
        work(simNanos);
    }

    @Override
    public void deliver(final RaftMessage message, final long simNanos)
    {
        incarnation.inbox.addLast(message);
        work(simNanos);
    }

    @Override
    public void flush(final long simNanos)
    {
        incarnation.flushScheduled = false;
        final long durable = storage.flush();
        cluster.trace(id, "flush", durable);
        work(simNanos);
    }

    @Override
    public void crash()
    {
        requireUp();
        up = false;
        crashes++;
        incarnation.closed = true;
        // Closing answers what the node accepted: SHUT_DOWN (unknown) for writes, failures for reads.
        raft.close();
        raft = null;
        stateMachine = null;
        storage.crash();
        lastRole = null;
        for (final PendingWrite write : pendingWrites.values())
        {
            outcomes.addLast(write.callback::unknown);
        }
        pendingWrites.clear();
        deliverOutcomes();
    }

    @Override
    public void restart(final long simNanos)
    {
        requireDown();
        open(null, simNanos);
    }

    @Override
    public long submit(final byte[] payload, final WriteCallback callback, final long simNanos)
    {
        final long correlationId = ++correlationIds;
        final PendingWrite write = new PendingWrite(callback);
        writeBuffer.wrap(payload);
        final int status = raft.clientWrite(writeBuffer, 0, payload.length, correlationId, (corr, code, index, leader, response,
            offset, length) -> onWriteResult(write, corr, code, index, response, offset, length));
        if (status != WriteStatus.OK)
        {
            cluster.trace(id, "writeRefused", WriteStatus.name(status));
            return -1;
        }
        pendingWrites.put(correlationId, write);
        write.submitting = true;
        work(simNanos);
        write.submitting = false;
        if (write.refusedAtOnce)
        {
            // Refused in the duty cycle that took it (not the leader, transferring): not written, the client retries.
            return -1;
        }
        return 0;
    }

    @Override
    public void readIndex(final ReadCallback callback, final long simNanos)
    {
        read(ReadPolicy.READ_INDEX, callback, simNanos);
    }

    @Override
    public void leaseRead(final ReadCallback callback, final long simNanos)
    {
        read(ReadPolicy.LEASE, callback, simNanos);
    }

    @Override
    public void triggerElection(final long simNanos)
    {
        raft.triggerElection();
        work(simNanos);
    }

    @Override
    public void triggerHeartbeat(final long simNanos)
    {
        raft.triggerHeartbeat();
        work(simNanos);
    }

    @Override
    public long transferLeader(final long target, final long timeoutNanos, final long simNanos)
    {
        return admin(raft.transferLeader(target, Duration.ofNanos(timeoutNanos)), simNanos);
    }

    @Override
    public long addLearner(final long node, final long simNanos)
    {
        return admin(raft.addLearner(node, null, Duration.ofNanos(10 * config.electionTimeoutMaxNanos())), simNanos);
    }

    @Override
    public long changeMembership(final long[] newVoters, final boolean retainRemovedAsLearners, final long simNanos)
    {
        return admin(raft.changeMembership(newVoters, retainRemovedAsLearners,
            Duration.ofNanos(10 * config.electionTimeoutMaxNanos())), simNanos);
    }

    @Override
    public void buildSnapshot(final long simNanos)
    {
        raft.triggerSnapshot();
        work(simNanos);
    }

    @Override
    public Membership membershipAt(final long index)
    {
        if (!up)
        {
            return null;
        }
        final long first = storage.lastPurgedLogId().index() + 1;
        for (long i = Math.min(index, storage.lastLogId().index()); i >= first; i--)
        {
            final Entry entry = storage.entry(i);
            if (entry.type() == EntryType.MEMBERSHIP)
            {
                return Membership.decode(entry.payload());
            }
        }
        final SnapshotMeta latest = snapshots.latest();
        return latest != null && latest.lastIncluded().index() <= index ? latest.membership() : null;
    }

    @Override
    public Membership membership()
    {
        return up ? raft.metrics().membership() : null;
    }

    @Override
    public NodeMetrics metrics()
    {
        if (!up)
        {
            return downMetrics();
        }
        final SnapshotMeta latest = snapshots.latest();
        final LogId snapshot = latest == null ? null : latest.lastIncluded();
        // The runtime's own metrics; a LogId's term, where they give an index only, from the log.
        final RaftMetrics m = raft.metrics();
        final long flushed = Math.max(m.flushedIndex(), storage.lastPurgedLogId().index());
        return new NodeMetrics(id, true, m.role(), m.term(), m.vote(), m.leaderId(), m.lastLogId(),
            new LogId(Math.max(0, storage.termAt(flushed)), flushed), m.committedIndex(), m.appliedIndex(), m.membership(),
            new LogId(Math.max(0, storage.termAt(m.purgedIndex())), m.purgedIndex()), snapshot,
            m.role() == Role.LEADER ? new TreeMap<>(m.matchIndex()) : Map.of());
    }

    @Override
    public Role role()
    {
        return up ? raft.metrics().role() : null;
    }

    @Override
    public long leaderId()
    {
        return up ? raft.metrics().leaderId() : Vote.NO_NODE;
    }

    @Override
    public long currentTerm()
    {
        return up ? raft.metrics().term() : storage.readVote().term();
    }

    @Override
    public long committedIndex()
    {
        return up ? raft.metrics().committedIndex() : 0;
    }

    @Override
    public long appliedIndex()
    {
        return up ? raft.metrics().appliedIndex() : 0;
    }

    /** @return the running node, for tests that need more than the metrics; null while crashed */
    public Raft raft()
    {
        return raft;
    }

    /**
     * The runtime's settings for this node: the protocol settings of the cluster's engine config, the
     * simulated clock, a seed from the simulation, and snapshots as the cluster asks.
     */
    private RaftConfig raftConfig()
    {
        final EngineConfig e = config;
        return new RaftConfig()
            .nodeId(id)
            .threadingMode(ThreadingMode.INVOKER)
            .snapshotExecutor(Runnable::run) // built in the duty cycle, as everything in a simulation
            .nanoClock(() -> localClock(cluster.nowNanos()))
            .randomSeed(cluster.random().nextLong())
            .electionTimeout(e.electionTimeoutMinNanos(), e.electionTimeoutMaxNanos(), TimeUnit.NANOSECONDS)
            .heartbeatInterval(e.heartbeatIntervalNanos(), TimeUnit.NANOSECONDS)
            .replicationWindow(e.maxInflightAppends())
            .maxEntriesPerAppend(e.maxEntriesPerAppend())
            .preVote(e.preVote())
            .checkQuorum(e.checkQuorum())
            .logRetainEntries(e.logRetainEntries())
            .maxClockDrift(e.maxClockDriftNanos(), TimeUnit.NANOSECONDS)
            // The client gives up first; the node's own timeout only frees its bookkeeping.
            .clientTimeout(10 * e.electionTimeoutMaxNanos(), TimeUnit.NANOSECONDS)
            .snapshotEveryEntries(snapshotEvery)
            .snapshotChunkSize(Math.max(256, snapshotChunkBytes))
            .plantedBug(e.plantedBug())
            .testControl(e.testControl());
    }

    private void open(final Membership founding, final long simNanos)
    {
        lastWorkNanos = simNanos;
        stateMachine = new KvStateMachine();
        final Incarnation current = new Incarnation();
        incarnation = current;
        current.starting = true;
        raft = Raft.start(raftConfig(), current.log, current.snapshotStore, current.network, current.stateMachine, founding);
        current.starting = false;
        up = true;
        lastRole = null;
        work(simNanos);
    }

    private void read(final ReadPolicy policy, final ReadCallback callback, final long simNanos)
    {
        final CompletableFuture<Long> future = raft.ensureLinearizable(policy);
        final Incarnation current = incarnation;
        // Served in the duty cycle that took it: a lease read confirmed without a round trip.
        final boolean[] atOnce = {true};
        future.whenComplete((index, error) -> outcomes.addLast(() ->
        {
            if (error == null)
            {
                if (current.closed)
                {
                    callback.failed(Vote.NO_NODE);
                    return;
                }
                if (policy == ReadPolicy.LEASE && atOnce[0])
                {
                    cluster.onLeaseReadServed();
                }
                cluster.trace(id, "readReady", policy + "@" + index);
                callback.ready(stateMachine);
            }
            else
            {
                final Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
                cluster.trace(id, "readFailed", cause.getMessage());
                callback.failed(cause instanceof RaftException raftError ? raftError.leaderId() : Vote.NO_NODE);
            }
        }));
        work(simNanos);
        atOnce[0] = false;
    }

    private long admin(final CompletableFuture<AdminResult> future, final long simNanos)
    {
        final long requestId = cluster.nextRequestId();
        future.whenComplete((result, error) -> outcomes.addLast(() ->
        {
            final AdminOutcome outcome = error == null ?
                new AdminOutcome(id, requestId, result.status(), result.index(), result.leaderId(), result.message()) :
                new AdminOutcome(id, requestId, AdminStatus.SHUT_DOWN, 0, Vote.NO_NODE, error.toString());
            cluster.trace(id, "admin", outcome.toString());
            cluster.onAdminOutcome(outcome);
        }));
        work(simNanos);
        return requestId;
    }

    private void onWriteResult(final PendingWrite write, final long correlationId, final int status, final long index,
        final DirectBuffer response, final int offset, final int length)
    {
        pendingWrites.remove(correlationId);
        cluster.trace(id, "writeResult", WriteStatus.name(status) + "@" + index);
        switch (status)
        {
            case WriteStatus.OK ->
            {
                final String result = KvStateMachine.decodeResult(new UnsafeBuffer(response, offset, length), length);
                outcomes.addLast(() -> write.callback.applied(index, result));
            }
            case WriteStatus.NOT_LEADER, WriteStatus.TRANSFERRING, WriteStatus.BACK_PRESSURED, WriteStatus.ABORTED,
                WriteStatus.PAYLOAD_TOO_LARGE ->
            {
                // Definitely not applied.
                if (write.submitting)
                {
                    write.refusedAtOnce = true;
                }
                else
                {
                    outcomes.addLast(() -> write.callback.superseded(index));
                }
            }
            default -> outcomes.addLast(write.callback::unknown);
        }
    }

    /** One duty cycle at {@code simNanos}, then the outcomes it produced go to the clients. */
    private void work(final long simNanos)
    {
        lastWorkNanos = simNanos;
        if (up)
        {
            raft.doWork();
            if (violation != null)
            {
                throw violation;
            }
            final Throwable failure = raft.failure();
            if (failure != null)
            {
                throw new IllegalStateException("node " + id + " stopped: " + failure, failure);
            }
            noticeRoleChange();
        }
        deliverOutcomes();
    }

    private void noticeRoleChange()
    {
        final RaftMetrics m = raft.metrics();
        if (m.role() == Role.LEADER && (lastRole != Role.LEADER || lastLeaderTerm != m.term()))
        {
            cluster.trace(id, "role", "LEADER t" + m.term());
            lastLeaderTerm = m.term();
            cluster.checker().onLeader(this, m.term());
            cluster.leaderElected(id, m.term());
        }
        else if (m.role() != lastRole)
        {
            cluster.trace(id, "role", m.role() + " t" + m.term() + " leader=" + m.leaderId());
        }
        lastRole = m.role();
    }

    /** Runs a check from inside a duty cycle: a violation is kept to be thrown once the cycle returns. */
    private void check(final Runnable check)
    {
        try
        {
            check.run();
        }
        catch (final InvariantViolation ex)
        {
            if (violation == null)
            {
                violation = ex;
            }
            throw ex;
        }
    }

    private void deliverOutcomes()
    {
        Runnable outcome;
        while ((outcome = outcomes.pollFirst()) != null)
        {
            outcome.run();
        }
    }

    private static final class PendingWrite
    {
        private final WriteCallback callback;
        private boolean submitting;
        private boolean refusedAtOnce;

        private PendingWrite(final WriteCallback callback)
        {
            this.callback = callback;
        }
    }

    /** What one life of the node (from a start to a crash) hands the runtime, which closes it all when it closes. */
    private final class Incarnation
    {
        private final ArrayDeque<RaftMessage> inbox = new ArrayDeque<>();
        private final SimLog log = new SimLog(this);
        private final SnapshotStore snapshotStore = new SnapshotStore();
        private final Network network = new Network(this);
        private final StateMachine stateMachine = new StateMachine(this);
        private boolean starting;
        private boolean closed;
        private boolean flushScheduled;
    }

    /** The node's {@link SimLogStorage} as the runtime sees it, with the invariant checker told of each change. */
    private final class SimLog implements RaftLogStorage
    {
        private final Incarnation owner;

        private SimLog(final Incarnation owner)
        {
            this.owner = owner;
        }

        @Override
        public Vote readVote()
        {
            return storage.readVote();
        }

        @Override
        public void saveVote(final Vote vote)
        {
            live();
            cluster.trace(id, "saveVote", vote);
            storage.saveVote(vote);
        }

        @Override
        public LogId lastPurgedLogId()
        {
            return storage.lastPurgedLogId();
        }

        @Override
        public LogId lastLogId()
        {
            return storage.lastLogId();
        }

        @Override
        public void append(final long term, final long index, final EntryType type, final DirectBuffer payload, final int offset,
            final int length)
        {
            append(Entry.copyOf(term, index, type, payload, offset, length));
        }

        @Override
        public void append(final Entry entry)
        {
            live();
            cluster.trace(id, "append", entry.logId());
            check(() -> cluster.checker().onAppend(RuntimeSimNode.this, entry));
            storage.append(entry);
        }

        @Override
        public long flush()
        {
            live();
            if (owner.starting)
            {
                // The founding membership entry, written before the node runs, is durable at once.
                return storage.flush();
            }
            if (!storage.hasUnflushedChanges())
            {
                return storage.lastLogIndex();
            }
            if (!owner.flushScheduled)
            {
                owner.flushScheduled = true;
                cluster.scheduleFlush(RuntimeSimNode.this);
            }
            // A planted storage bug, for the test that shows the checks bite through the runtime.
            return ackBeforeDurable ? storage.lastLogIndex() : storage.durablePrefixLogId().index();
        }

        @Override
        public void truncateSuffix(final long fromIndex)
        {
            live();
            cluster.trace(id, "truncate", fromIndex);
            cluster.countTruncation(storage.lastLogId().index() - fromIndex + 1);
            // A snapshot the node holds covers the committed prefix it replaces (Raft §7).
            final SnapshotMeta latest = snapshots.latest();
            check(() -> cluster.checker().onTruncate(RuntimeSimNode.this, fromIndex, latest == null ? 0 : latest.lastIncluded().index()));
            storage.truncateSuffix(fromIndex);
        }

        @Override
        public void purgePrefix(final LogId upTo)
        {
            live();
            cluster.trace(id, "purge", upTo);
            storage.purgePrefix(upTo);
        }

        @Override
        public int read(final long fromIndex, final long toIndexExclusive, final EntryReader reader)
        {
            return storage.read(fromIndex, toIndexExclusive, reader);
        }

        @Override
        public Entry entry(final long index)
        {
            return storage.entry(index);
        }

        @Override
        public void close()
        {
            // The log outlives the runtime that closes it: a restart opens it again.
        }

        private void live()
        {
            if (owner.closed)
            {
                throw new IllegalStateException("node " + id + ": the log was written after the node crashed");
            }
        }
    }

    /** The snapshot store, kept across crashes (a snapshot is durable once committed). */
    private final class SnapshotStore implements RaftSnapshotStore
    {
        @Override
        public SnapshotMeta latest()
        {
            return snapshots.latest();
        }

        @Override
        public SnapshotWriter create(final SnapshotMeta meta)
        {
            return snapshots.create(meta);
        }

        @Override
        public SnapshotReader open(final SnapshotMeta meta)
        {
            return snapshots.open(meta);
        }

        @Override
        public void close()
        {
            // Survives the crash of the runtime that closes it.
        }
    }

    /** The simulated network as the runtime sees it. */
    private final class Network implements RaftNetwork
    {
        private final Incarnation owner;

        private Network(final Incarnation owner)
        {
            this.owner = owner;
        }

        @Override
        public int send(final RaftMessage message)
        {
            if (owner.closed)
            {
                return CLOSED;
            }
            cluster.network().send(message);
            return SENT;
        }

        @Override
        public int poll(final MessageHandler handler, final int limit)
        {
            int delivered = 0;
            RaftMessage message;
            while (delivered < limit && (message = owner.inbox.pollFirst()) != null)
            {
                handler.onMessage(message);
                delivered++;
            }
            return delivered;
        }

        @Override
        public void close()
        {
            owner.inbox.clear();
        }
    }

    /** The KV state machine, with the invariant checker told of each apply and each installed snapshot. */
    private final class StateMachine implements RaftStateMachine
    {
        private final Incarnation owner;

        private StateMachine(final Incarnation owner)
        {
            this.owner = owner;
        }

        @Override
        public LogId lastApplied()
        {
            return stateMachine.lastApplied();
        }

        @Override
        public int apply(final long index, final long term, final DirectBuffer payload, final int offset, final int length,
            final MutableDirectBuffer response)
        {
            final Entry applied = Entry.copyOf(term, index, EntryType.NORMAL, payload, offset, length);
            check(() -> cluster.checker().onApply(RuntimeSimNode.this, applied));
            return stateMachine.apply(index, term, payload, offset, length, response);
        }

        @Override
        public void onBatchEnd(final long lastAppliedIndex, final long lastAppliedTerm)
        {
            cluster.trace(id, "apply", new LogId(lastAppliedTerm, lastAppliedIndex));
            stateMachine.onBatchEnd(lastAppliedIndex, lastAppliedTerm);
        }

        @Override
        public void buildSnapshot(final SnapshotWriter writer)
        {
            cluster.trace(id, "snapshotBuilt", stateMachine.lastApplied());
            stateMachine.buildSnapshot(writer);
        }

        @Override
        public void installSnapshot(final SnapshotMeta meta, final SnapshotReader reader)
        {
            cluster.trace(id, "installSnapshot", meta.lastIncluded());
            if (!owner.starting)
            {
                check(() -> cluster.checker().onInstallSnapshot(RuntimeSimNode.this, meta));
                snapshotsInstalled++;
            }
            stateMachine.installSnapshot(meta, reader);
        }
    }
}
