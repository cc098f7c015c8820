package io.ringraft.runtime;

import io.ringraft.AdminResult;
import io.ringraft.AdminStatus;
import io.ringraft.EntryBatch;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.RaftConfig;
import io.ringraft.RaftException;
import io.ringraft.Vote;
import io.ringraft.WriteStatus;
import io.ringraft.engine.Engine;
import io.ringraft.engine.EngineOutput;
import io.ringraft.engine.InputDropReason;
import io.ringraft.engine.InitialState;
import io.ringraft.engine.Role;
import io.ringraft.network.InstallSnapshotRequest;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.RaftNetwork;
import io.ringraft.storage.RaftLogStorage;
import io.ringraft.storage.RaftSnapshotStore;
import io.ringraft.storage.SnapshotMeta;
import com.lmax.disruptor.EventPoller;
import com.lmax.disruptor.RingBuffer;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentTerminationException;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.AtomicCounter;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;

/**
 * The event loop of a node: an Agrona {@link Agent} whose duty cycle drains a batch from the
 * ingress ring (one group commit: one log append of the batch, then one send per follower),
 * polls the network, flushes the log once, lets each {@link ReplicationCore} retry what the
 * network refused, and publishes newly committed entries to the apply ring. It executes the
 * {@link Engine}'s commands and never blocks.
 */
public final class RaftCore implements Agent, EngineOutput, EventPoller.Handler<IngressEvent>, RaftNetwork.MessageHandler
{
    private static final UnsafeBuffer EMPTY = new UnsafeBuffer(new byte[0]);
    private static final int NETWORK_POLL_LIMIT = 256;

    private final RaftConfig config;
    private final long self;
    private final Engine engine;
    private final RaftLogStorage storage;
    private final RaftNetwork network;
    private final NanoClock clock;
    private final RaftCounters counters;
    private final FailStop failStop;
    private final Events events;
    private final PayloadBudget ingressBudget;
    private final Runnable onStopped;
    private final DroppedInputLog droppedInput;
    private final RingBuffer<IngressEvent> ingress;
    private final EventPoller<IngressEvent> ingressPoller;
    private final PendingWrites pending = new PendingWrites();
    /** The most writes taken into one group commit. */
    private final int maxBatch;
    private final Long2ObjectHashMap<ReplicationCore> peers = new Long2ObjectHashMap<>();
    private final ArrayList<ReplicationCore> peerList = new ArrayList<>();
    private final ArrayList<AtomicCounter> peerMatchCounters = new ArrayList<>(); // parallel to peerList
    private final ReadBatcher reads = new ReadBatcher();
    private final ApplyPublisher applies;
    private final SnapshotReceiver receiver;
    private final RaftSnapshotStore snapshots;
    private final ManyToOneConcurrentArrayQueue<Object> fromWorker;
    private final Long2ObjectHashMap<CompletableFuture<AdminResult>> adminFutures = new Long2ObjectHashMap<>();
    private final ArrayList<CompletableFuture<SnapshotMeta>> snapshotWaiters = new ArrayList<>();
    private long nextAdminId;
    private boolean snapshotRequested;
    private boolean snapshotBuilding;
    private long savedCommitted;
    private long lastSnapshotIndex;
    // The snapshot policy's view of the log (RaftConfig.snapshotLogRatio): the last snapshot's size, and the payload
    // bytes published to the state machine up to it and up to the snapshot being built.
    private long lastSnapshotBytes;
    private long publishedBytesAtSnapshot;
    private long publishedBytesAtRequest;

    /** What the last flush reported durable. */
    private long lastDurable = -1;
    /**
     * The writes taken but not yet appended: the ingress ring's slots {@code batchFirst .. batchFirst + batchSize - 1}
     * (consecutive: anything else flushes the batch first), still the poller's until it returns. Kept as a range,
     * not an array of events: a reference stored per write into a long-lived array is a GC card marked per write.
     */
    private int batchSize;
    private long batchFirst;
    private boolean appended;
    private long nowNanos;
    private Membership lastMembership;
    // The membership the peers were last matched to (see syncPeers).
    private Membership peersEffective;
    private Membership peersCommitted;
    private Membership networkView;
    /** The leader the network view was computed with. */
    private long viewLeader = Vote.NO_NODE;
    /** A leader kept in the network view although no membership this node holds names it (see {@link #tellNetwork}). */
    private long keptLeader = Vote.NO_NODE;
    /** Peers with replication state that belong to neither membership: released once the engine stops replicating to them. */
    private int outsiders;
    /** A leader that introduced itself and that no membership this node holds names (see {@link #introduced}), or NO_NODE. */
    private long introducedNode = Vote.NO_NODE;
    private long introducedTerm;
    private String introducedEndpoint;
    /** The introduced leader changed since the network was last told. */
    private boolean introductionChanged;

    private volatile Membership membership;
    private volatile Map<Long, AtomicCounter> matchCounters = Map.of();

    RaftCore(final RaftConfig config, final RaftLogStorage storage, final RaftSnapshotStore snapshots, final RaftNetwork network,
        final LogId stateMachineApplied, final Membership initialMembership, final RaftCounters counters,
        final RingBuffer<IngressEvent> ingress, final PayloadBudget ingressBudget, final RingBuffer<ApplyEvent> applyRing,
        final PayloadBudget applyBudget, final ManyToOneConcurrentArrayQueue<Object> fromWorker, final FailStop failStop,
        final Runnable onStopped)
    {
        this.ingressBudget = ingressBudget;
        this.failStop = failStop;
        this.events = new Events(config.nodeId(), config.eventListener(), failStop);
        this.onStopped = onStopped;
        this.config = config;
        this.self = config.nodeId();
        this.storage = storage;
        this.snapshots = snapshots;
        this.fromWorker = fromWorker;
        this.network = network;
        this.clock = config.nanoClock();
        this.counters = counters;
        this.droppedInput = new DroppedInputLog(self, counters);
        this.ingress = ingress;
        this.ingressPoller = ingress.newPoller();
        ingress.addGatingSequences(ingressPoller.getSequence());
        this.receiver = new SnapshotReceiver(snapshots);
        this.applies = new ApplyPublisher(applyRing, storage, pending, this::answerNow, applyBudget);
        this.maxBatch = config.maxWritesPerBatch();
        final SnapshotMeta latestSnapshot = snapshots.latest();
        this.engine = new Engine(config.engineConfig(), InitialState.load(storage, latestSnapshot, stateMachineApplied),
            new SplittableRandom(config.randomSeed()), this);
        this.lastSnapshotIndex = latestSnapshot == null ? 0 : latestSnapshot.lastIncluded().index();
        this.lastSnapshotBytes = latestSnapshot == null ? 0 : Math.max(0, latestSnapshot.sizeBytes());
        this.savedCommitted = storage.readCommitted();
        if (initialMembership != null && engine.lastLogId().index() == 0 && engine.vote().term() == 0)
        {
            engine.initialize(initialMembership);
            storage.flush();
        }
        applies.startAt(engine.appliedIndex());
        counters.applied.setOrdered(engine.appliedIndex());
        nowNanos = clock.nanoTime();
        engine.start(nowNanos);
        syncPeers();
        updateCounters();
    }

    @Override
    public int doWork()
    {
        if (failStop.failed())
        {
            throw new AgentTerminationException("node " + self + " failed"); // another agent's failure stops this one too (onClose publishes the counters)
        }
        try
        {
            nowNanos = clock.nanoTime();
            engine.tick(nowNanos);
            int work = pollIngress();
            work += network.doWork();
            work += network.poll(this, NETWORK_POLL_LIMIT);
            if (failStop.failed())
            {
                // A message failed the node (onMessage caught it: a network may swallow what its handler throws).
                throw new AgentTerminationException("node " + self + " failed handling a message");
            }
            if (appended)
            {
                // One flush per duty cycle: a group commit of everything appended in it. A storage
                // that completes durability asynchronously reports less; ask again next cycle.
                // A cycle that only finds the sync still running is no work, so that the idle
                // strategy backs off (the storage may wake this thread when the sync completes).
                final long flushedBefore = engine.flushedIndex();
                final long durable = storage.flush();
                lastDurable = durable;
                appended = durable < storage.lastLogIndex();
                engine.onLogFlushed(durable);
                if (!appended || engine.flushedIndex() != flushedBefore)
                {
                    work++;
                }
            }
            for (int i = 0; i < peerList.size(); i++)
            {
                work += peerList.get(i).doWork();
            }
            work += pollWorker();
            work += applies.publish(reads);
            work += maybeBuildSnapshot();
            work += expireWrites();
            syncPeers();
            updateCounters();
            saveCommitted();
            return work;
        }
        catch (final AgentTerminationException ex)
        {
            throw ex;
        }
        catch (final RuntimeException | Error ex)
        {
            // A storage failure or a broken invariant: this node can no longer keep its promises.
            failOnCoreThread(ex);
            throw new AgentTerminationException(ex);
        }
    }

    /**
     * The agent stopped (closed, or failed): publishes the counters once more, so that they show the
     * node's last state, then lets {@code NodeRuntime} answer what is left.
     */
    @Override
    public void onClose()
    {
        try
        {
            publishCounters();
        }
        catch (final RuntimeException | Error ex)
        {
            failStop.report(ex);
        }
        onStopped.run();
    }

    /**
     * Fails the node from the core thread: first publishes the counters of the duty cycle that
     * failed (what it appended, committed, flushed before the failure), so that a caller who sees
     * the failure sees the node's last state too.
     */
    private void failOnCoreThread(final Throwable failure)
    {
        try
        {
            publishCounters();
        }
        catch (final RuntimeException | Error ex)
        {
            failure.addSuppressed(ex);
        }
        failStop.fail(failure);
    }

    @Override
    public String roleName()
    {
        return "ringraft-core-" + self;
    }

    // ---------------------------------------------------------------------------------------
    // Ingress

    private int pollIngress()
    {
        final long before = ingressPoller.getSequence().get();
        try
        {
            ingressPoller.poll(this);
        }
        catch (final RuntimeException ex)
        {
            throw ex;
        }
        catch (final Exception ex)
        {
            throw new IllegalStateException(ex);
        }
        flushWriteBatch();
        final long readId = reads.closeGroup();
        if (readId != 0)
        {
            engine.readIndex(readId);
        }
        return (int)(ingressPoller.getSequence().get() - before);
    }

    @Override
    public boolean onEvent(final IngressEvent event, final long sequence, final boolean endOfBatch)
    {
        switch (event.type)
        {
            case IngressEvent.WRITE:
                if (batchSize++ == 0)
                {
                    batchFirst = sequence;
                }
                if (batchSize == maxBatch)
                {
                    flushWriteBatch();
                    return false; // one group commit per duty cycle at most this large
                }
                if (endOfBatch)
                {
                    flushWriteBatch();
                }
                return true;
            case IngressEvent.READ:
                flushWriteBatch();
                final long leaseIndex = event.leaseRead ? engine.leaseRead() : -1;
                if (leaseIndex >= 0)
                {
                    reads.addLeased(event.read, leaseIndex);
                }
                else
                {
                    reads.add(event.read);
                }
                event.clear();
                return true;
            default:
                flushWriteBatch();
                final java.util.function.Consumer<RaftCore> task = event.control;
                event.clear();
                task.accept(this);
                return true;
        }
    }

    /** @return the batch's {@code i}th write */
    private IngressEvent batched(final int i)
    {
        return ingress.get(batchFirst + i);
    }

    private void flushWriteBatch()
    {
        final int count = batchSize;
        if (count == 0)
        {
            return;
        }
        final int admitted = engine.role() == Role.LEADER ? admitUncommitted(count) : count;
        if (admitted > 0)
        {
            final long first = engine.clientWrite(admitted);
            if (first < 0)
            {
                final int status = first == Engine.TRANSFERRING ? WriteStatus.TRANSFERRING : WriteStatus.NOT_LEADER;
                refuse(0, admitted, status, engine.leaderId());
            }
        }
        if (admitted < count)
        {
            counters.backPressure.increment();
            refuse(admitted, count, WriteStatus.BACK_PRESSURED, Vote.NO_NODE);
        }
        for (int i = 0; i < count; i++)
        {
            final IngressEvent e = batched(i);
            e.releasePayload(ingressBudget);
            e.clear();
        }
        batchSize = 0;
    }

    /** @return how many of the batch's first writes fit the leader's uncommitted limits */
    private int admitUncommitted(final int count)
    {
        final long roomEntries = config.maxUncommittedEntries() - (engine.lastLogIndex() - engine.committedIndex());
        long roomBytes = config.maxUncommittedBytes() - pending.bytes();
        int admitted = 0;
        while (admitted < count && admitted < roomEntries && batched(admitted).length <= roomBytes)
        {
            roomBytes -= batched(admitted).length;
            admitted++;
        }
        return admitted;
    }

    private void refuse(final int from, final int to, final int status, final long leaderId)
    {
        for (int i = from; i < to; i++)
        {
            final IngressEvent e = batched(i);
            failStop.onWriteResult(e.handler, e.correlationId, status, 0, leaderId, EMPTY, 0, 0);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Engine output

    @Override
    public void saveVote(final Vote vote)
    {
        storage.saveVote(vote);
    }

    @Override
    public void appendEntries(final EntryBatch entries, final int from)
    {
        storage.append(entries, from);
        appended = true;
    }

    @Override
    public void appendClientEntries(final long term, final long firstIndex, final int count)
    {
        final long deadline = nowNanos + config.clientTimeoutNanos();
        for (int i = 0; i < count; i++)
        {
            final IngressEvent e = batched(i);
            storage.append(term, firstIndex + i, EntryType.NORMAL, e.payload, 0, e.length);
            pending.add(firstIndex + i, term, e.correlationId, e.handler, deadline, e.length);
        }
        appended = true;
    }

    /** The conflicting entries are not in the leader's log: their writes failed for certain. */
    @Override
    public void truncateLog(final long fromIndex)
    {
        dropSuffix(fromIndex, WriteStatus.ABORTED);
    }

    /** A snapshot replaces the entries and may hold them: whether their writes committed is unknown here. */
    @Override
    public void discardLog(final long fromIndex)
    {
        dropSuffix(fromIndex, WriteStatus.TIMED_OUT);
    }

    /** Answers a pending write that gets no response from the state machine. */
    private void answer(final PendingWrites.Pending p, final int status, final long leaderId)
    {
        failStop.onWriteResult(p.handler, p.correlationId, status, p.index, leaderId, EMPTY, 0, 0);
    }

    /** Answers a pending write naming the leader as this node knows it now. */
    private void answerNow(final PendingWrites.Pending p, final int status)
    {
        answer(p, status, engine.leaderId());
    }

    /** The log changed under the batches the peers built: none may be sent from again. */
    private void forgetBuiltBatches()
    {
        for (int i = 0; i < peerList.size(); i++)
        {
            peerList.get(i).forgetBuilt();
        }
    }

    private void dropSuffix(final long fromIndex, final int pendingStatus)
    {
        forgetBuiltBatches();
        storage.truncateSuffix(fromIndex);
        appended = true;
        PendingWrites.Pending p;
        while ((p = pending.removeFrom(fromIndex)) != null)
        {
            answer(p, pendingStatus, engine.leaderId());
        }
    }

    @Override
    public void send(final RaftMessage message)
    {
        peer(message.to()).send(message);
    }

    @Override
    public void replicate(final long peer, final long term, final long prevLogTerm, final long prevLogIndex, final long fromIndex,
        final long toIndexExclusive, final long leaderCommit, final long seq)
    {
        peer(peer).replicate(term, prevLogTerm, prevLogIndex, fromIndex, toIndexExclusive, leaderCommit, seq);
    }

    @Override
    public void apply(final long fromIndex, final long toIndex)
    {
        applies.commitTo(toIndex);
    }

    @Override
    public void readIndexReady(final long readId, final long readIndex)
    {
        reads.ready(readId, readIndex);
    }

    @Override
    public void readIndexFailed(final long readId, final long leaderId)
    {
        reads.failed(readId, new RaftException(WriteStatus.NOT_LEADER, leaderId, "node " + self + " is not the leader" +
            (leaderId != Vote.NO_NODE ? "; the leader is node " + leaderId : "")));
    }

    @Override
    public void roleChanged(final Role role, final long term, final long leaderId)
    {
        forgetBuiltBatches();
        if (role != Role.LEADER)
        {
            for (int i = 0; i < peerList.size(); i++)
            {
                peerList.get(i).clearAppends();
            }
        }
        counters.role.setOrdered(role.ordinal());
        counters.term.setOrdered(term);
        counters.leader.setOrdered(leaderId);
        events.roleChanged(role, term, leaderId);
    }

    @Override
    public void sendSnapshotChunk(final long peer, final long term, final SnapshotMeta meta, final long offset)
    {
        peer(peer).sendSnapshotChunk(term, meta, offset);
    }

    /** Writes a chunk from the leader into the snapshot store; the engine hears of it once the message is handled. */
    /** @return how many messages from other nodes the engine dropped, by reason; readable from any thread */
    Map<InputDropReason, Long> droppedInput()
    {
        return droppedInput.snapshot();
    }

    @Override
    public void inputDropped(final InputDropReason reason, final RaftMessage message)
    {
        droppedInput.onDropped(reason, message, nowNanos);
    }

    /**
     * A leader of this node's term or a later one that no membership this node holds names (this
     * node missed the change that added it) introduced itself: the network view keeps it, with its
     * endpoint, so that its AppendEntries are accepted and answered; the engine then follows it as
     * Raft says, and once the log's membership names it the membership's endpoint takes over. One
     * introduced leader at a time, the latest introduction (a genuine leader introduces itself
     * again each heartbeat interval while it is not answered, so a forged one does not hold the
     * place); it is dropped from the view once a membership names it, or once this node is in the
     * introduction's term or a later one under another leader (or in a later term with none).
     * The network is told at the end of the duty cycle, not inside the poll that delivered the
     * introduction. A node that holds no membership yet (joining) keeps its configured contacts.
     */
    @Override
    public void introduced(final long node, final long term, final String endpoint)
    {
        final Membership effective = engine.membership();
        if (effective == null || !outside(node, effective, engine.committedMembership()))
        {
            return;
        }
        if (node != introducedNode || !endpoint.equals(introducedEndpoint))
        {
            introducedNode = node;
            introducedEndpoint = endpoint;
            introductionChanged = true;
        }
        introducedTerm = term;
    }

    @Override
    public void storeSnapshotChunk(final InstallSnapshotRequest request)
    {
        receiver.store(request);
    }

    @Override
    public void installSnapshot(final SnapshotMeta meta)
    {
        final long index = meta.lastIncluded().index();
        forgetBuiltBatches();
        storage.purgePrefix(meta.lastIncluded());
        appended = true;
        applies.install(meta);
        events.snapshotInstalled(meta);
        lastSnapshotIndex = Math.max(lastSnapshotIndex, index);
        lastSnapshotBytes = Math.max(0, meta.sizeBytes());
        publishedBytesAtSnapshot = applies.publishedBytes();
        PendingWrites.Pending p;
        while ((p = pending.pollUpTo(index)) != null)
        {
            // Applied through the snapshot: committed, but its response is not known here.
            answer(p, WriteStatus.TIMED_OUT, engine.leaderId());
        }
    }

    @Override
    public void purgeLog(final LogId upTo)
    {
        storage.purgePrefix(upTo);
    }

    @Override
    public void adminResult(final long requestId, final int status, final long index, final long leaderId, final String message)
    {
        final CompletableFuture<AdminResult> future = adminFutures.remove(requestId);
        if (future != null)
        {
            syncPeers(); // the network knows the membership before the caller hears of it
            future.complete(new AdminResult(status, index, leaderId, message));
        }
    }

    /**
     * Handles a message from the network. A failure here stops the node whichever network delivered
     * the message: it is recorded rather than thrown, since a network may swallow what its handler
     * throws (Aeron's {@code Image.poll} does), and {@link #doWork()} stops the agent once the poll returns.
     */
    @Override
    public void onMessage(final RaftMessage message)
    {
        if (message.to() != self || failStop.failed())
        {
            return;
        }
        try
        {
            engine.handle(message);
            receiver.reportTo(engine);
        }
        catch (final RuntimeException | Error ex)
        {
            failOnCoreThread(ex);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Snapshots and administration

    private int pollWorker()
    {
        int work = 0;
        Object item;
        while ((item = fromWorker.poll()) != null)
        {
            work++;
            snapshotBuilding = false;
            if (item instanceof SnapshotMeta)
            {
                final SnapshotMeta meta = (SnapshotMeta)item;
                lastSnapshotIndex = Math.max(lastSnapshotIndex, meta.lastIncluded().index());
                lastSnapshotBytes = Math.max(0, meta.sizeBytes());
                publishedBytesAtSnapshot = publishedBytesAtRequest;
                engine.onSnapshotBuilt(meta);
                events.snapshotBuilt(meta);
                snapshotWaiters.forEach(f -> f.complete(meta));
            }
            else
            {
                final RuntimeException cause = ((StateMachineWorker.SnapshotFailed)item).cause();
                snapshotWaiters.forEach(f -> f.completeExceptionally(cause));
            }
            snapshotWaiters.clear();
        }
        return work;
    }

    private int maybeBuildSnapshot()
    {
        final long publishedIndex = applies.publishedIndex();
        final boolean due = config.snapshotEveryEntries() > 0 && publishedIndex - lastSnapshotIndex >= config.snapshotEveryEntries() &&
            (lastSnapshotBytes <= config.snapshotLogRatioFromBytes() ||
                applies.publishedBytes() - publishedBytesAtSnapshot >= config.snapshotLogRatio() * lastSnapshotBytes);
        if (snapshotBuilding || !(snapshotRequested || due) || publishedIndex == 0 || applies.installing() ||
            !applies.requestSnapshot(engine.membershipAt(publishedIndex)))
        {
            return 0;
        }
        publishedBytesAtRequest = applies.publishedBytes();
        snapshotBuilding = true;
        snapshotRequested = false;
        return 1;
    }

    /** Builds a snapshot now (on the core thread). */
    void triggerSnapshot(final CompletableFuture<SnapshotMeta> future)
    {
        snapshotWaiters.add(future);
        snapshotRequested = true;
    }

    void changeMembership(final CompletableFuture<AdminResult> future, final long[] voters, final boolean retain, final long timeoutNanos)
    {
        final long id = ++nextAdminId;
        adminFutures.put(id, future);
        engine.changeMembership(id, voters, retain, timeoutNanos);
    }

    void addLearner(final CompletableFuture<AdminResult> future, final long node, final String endpoint, final long timeoutNanos)
    {
        final long id = ++nextAdminId;
        adminFutures.put(id, future);
        engine.addLearner(id, node, endpoint, timeoutNanos);
    }

    void removeLearner(final CompletableFuture<AdminResult> future, final long node, final long timeoutNanos)
    {
        final long id = ++nextAdminId;
        adminFutures.put(id, future);
        engine.removeLearner(id, node, timeoutNanos);
    }

    void transferLeader(final CompletableFuture<AdminResult> future, final long target, final long timeoutNanos)
    {
        final long id = ++nextAdminId;
        adminFutures.put(id, future);
        engine.transferLeader(id, target, timeoutNanos);
    }

    private int expireWrites()
    {
        int work = 0;
        PendingWrites.Pending p;
        while ((p = pending.pollExpired(nowNanos)) != null)
        {
            answer(p, WriteStatus.TIMED_OUT, engine.leaderId());
            work++;
        }
        return work;
    }

    // ---------------------------------------------------------------------------------------
    // Peers, counters, control

    private ReplicationCore peer(final long peerId)
    {
        ReplicationCore core = peers.get(peerId);
        if (core == null)
        {
            core = new ReplicationCore(self, peerId, network, storage, snapshots, config.snapshotChunkSize(), config.sendQueueCapacity(),
                counters.sendsRetried, counters.sendsDropped, peerList);
            peers.put(peerId, core);
            peerList.add(core);
            final AtomicCounter matchCounter = counters.newCounter("ringraft node " + self + " match index of node " + peerId);
            peerMatchCounters.add(matchCounter);
            if (matchCounter != null)
            {
                final Map<Long, AtomicCounter> next = new HashMap<>(matchCounters);
                next.put(peerId, matchCounter);
                matchCounters = Collections.unmodifiableMap(next);
            }
            if (!isMember(peerId))
            {
                outsiders++;
            }
        }
        return core;
    }

    private boolean isMember(final long peerId)
    {
        return peersEffective == null || peersEffective.contains(peerId) || (peersCommitted != null && peersCommitted.contains(peerId));
    }

    /**
     * Keeps the peers and the network in step with the membership (the log's, which is
     * authoritative): the nodes of the effective and of the committed membership (they differ
     * while a change commits: a leader being removed still leads until then), and a node just
     * removed while the engine still replicates to it so that it learns of its removal. Any other
     * peer's replication state and counter are released, and the network is told (also when the
     * leader moves while the view keeps a leader outside the membership, see {@link #tellNetwork}).
     */
    private void syncPeers()
    {
        final Membership effective = engine.membership();
        if (effective == null)
        {
            return; // joining: the network keeps the peers it was configured with
        }
        final Membership committed = engine.committedMembership();
        final boolean changed = effective != peersEffective || committed != peersCommitted;
        final long leader = engine.leaderId();
        final boolean leaderMoved = leader != viewLeader && (keptLeader != Vote.NO_NODE || outside(leader, effective, committed));
        if (introducedNode != Vote.NO_NODE && (!outside(introducedNode, effective, committed) || leader != introducedNode &&
            (engine.vote().term() > introducedTerm || leader != Vote.NO_NODE && engine.vote().term() == introducedTerm)))
        {
            introducedNode = Vote.NO_NODE; // named by the membership now, or no longer the leader
            introducedEndpoint = null;
            introductionChanged = true;
        }
        final boolean introduction = introductionChanged;
        introductionChanged = false;
        if (!changed && outsiders == 0 && !leaderMoved && !introduction)
        {
            return;
        }
        peersEffective = effective;
        peersCommitted = committed;
        boolean released = false;
        int kept = 0;
        for (int i = peerList.size() - 1; i >= 0; i--)
        {
            final long peer = peerList.get(i).peer();
            if (isMember(peer))
            {
                continue;
            }
            if (engine.replicatesTo(peer))
            {
                kept++;
            }
            else
            {
                releasePeer(i);
                released = true;
            }
        }
        outsiders = kept;
        if (changed || released || leaderMoved || introduction)
        {
            tellNetwork(effective, committed);
        }
    }

    /** @return true if {@code leader} is another node that neither membership names */
    private boolean outside(final long leader, final Membership effective, final Membership committed)
    {
        return leader != Vote.NO_NODE && leader != self && !effective.contains(leader) && (committed == null || !committed.contains(leader));
    }

    private void releasePeer(final int i)
    {
        final ReplicationCore core = peerList.remove(i);
        peers.remove(core.peer());
        core.close();
        final AtomicCounter counter = peerMatchCounters.remove(i);
        if (counter != null)
        {
            counter.close(); // frees its slot for the next peer
            final Map<Long, AtomicCounter> next = new HashMap<>(matchCounters);
            next.remove(core.peer());
            matchCounters = Collections.unmodifiableMap(next);
        }
    }

    /**
     * Tells the network its peers: the effective membership, plus the other nodes it must still
     * reach as learners. Among those, the leader this node follows when no membership it holds
     * names it, unless it saw that leader removed: a node that joined (or was re-added) and
     * replays a log prefix from before the leader was added follows a leader that the rest of the
     * log names; dropping it would stall the node at that prefix. Only a leader whose frames the
     * network already accepts can be followed, so this keeps a peer, never adds an unknown one
     * (its endpoint stays the one in use); a leader that a membership this node holds removed is
     * not kept. A leader that introduced itself ({@link #introduced}) is kept with the endpoint it
     * gave.
     */
    private void tellNetwork(final Membership effective, final Membership committed)
    {
        final long leader = engine.leaderId();
        final boolean keep = outside(leader, effective, committed) && (leader == keptLeader || networkView == null ||
            !networkView.contains(leader));
        keptLeader = keep ? leader : Vote.NO_NODE;
        viewLeader = leader;
        final Map<Long, String> endpoints = new TreeMap<>();
        final TreeSet<Long> others = new TreeSet<>();
        if (networkView != null)
        {
            endpoints.putAll(networkView.endpoints()); // a removed node's endpoint, dropped by the change
        }
        if (introducedNode != Vote.NO_NODE)
        {
            endpoints.put(introducedNode, introducedEndpoint); // no membership names it (see syncPeers)
            others.add(introducedNode);
        }
        if (committed != null)
        {
            endpoints.putAll(committed.endpoints());
            for (final long node : committed.allNodes())
            {
                others.add(node);
            }
        }
        endpoints.putAll(effective.endpoints());
        for (final long node : effective.learners())
        {
            others.add(node);
        }
        for (int i = 0; i < peerList.size(); i++)
        {
            others.add(peerList.get(i).peer());
        }
        if (keep)
        {
            others.add(leader);
        }
        final long[] learners = others.stream().mapToLong(Long::longValue).filter(n -> !effective.isVoter(n)).toArray();
        final Membership view = Membership.of(effective.voters(), effective.nextVoters(), learners, Map.of());
        final Map<Long, String> known = new TreeMap<>();
        for (final long node : view.allNodes())
        {
            final String endpoint = endpoints.get(node);
            if (endpoint != null)
            {
                known.put(node, endpoint);
            }
        }
        networkView = Membership.of(effective.voters(), effective.nextVoters(), learners, known);
        network.onMembershipChanged(networkView);
    }

    /** Lets a restarted node know the commit index it had seen (local reads wait for it): see {@link RaftLogStorage#saveCommitted}. */
    private void saveCommitted()
    {
        final long committed = engine.committedIndex();
        if (committed > savedCommitted)
        {
            storage.saveCommitted(committed);
            savedCommitted = committed;
        }
    }

    private void updateCounters()
    {
        publishCounters();
        final Membership m = engine.membership();
        if (m != lastMembership)
        {
            lastMembership = m;
            membership = m;
            events.membershipChanged(m);
        }
        if (engine.role() == Role.LEADER)
        {
            for (int i = 0; i < peerList.size(); i++)
            {
                final AtomicCounter counter = peerMatchCounters.get(i);
                if (counter != null)
                {
                    counter.setOrdered(engine.matchIndex(peerList.get(i).peer()));
                }
            }
        }
    }

    /** The engine's log, commit, flush, snapshot and vote state to the counters (the role and leader are set as they change). */
    private void publishCounters()
    {
        counters.lastLogIndex.setOrdered(engine.lastLogIndex());
        counters.lastLogTerm.setOrdered(engine.lastLogTerm());
        counters.committed.setOrdered(engine.committedIndex());
        counters.flushed.setOrdered(engine.flushedIndex());
        counters.snapshotIndex.setOrdered(engine.snapshotIndex());
        counters.purgedIndex.setOrdered(engine.purgedIndex());
        final Vote vote = engine.vote();
        counters.term.setOrdered(vote.term());
        counters.votedFor.setOrdered(vote.votedFor());
        counters.voteCommitted.setOrdered(vote.committed() ? 1 : 0);
    }

    /** Starts an election now (on the core thread). */
    void triggerElection()
    {
        engine.triggerElection();
    }

    /** Sends heartbeats now (on the core thread). */
    void triggerHeartbeat()
    {
        engine.triggerHeartbeat();
    }

    Engine engine()
    {
        return engine;
    }

    Membership membership()
    {
        return membership;
    }

    Map<Long, Long> matchIndexes()
    {
        final Map<Long, Long> result = new HashMap<>();
        if (counters.role.get() == Role.LEADER.ordinal())
        {
            for (final Map.Entry<Long, AtomicCounter> e : matchCounters.entrySet())
            {
                result.put(e.getKey(), e.getValue().get());
            }
        }
        return result;
    }

    /**
     * @return true if entries this node appended wait for a sync that has completed since its last flush: the next
     *         duty cycle has work (for a duty cycle about to sleep; on the node's thread)
     */
    boolean durabilityPending()
    {
        return appended && storage.durableIndexNow() > lastDurable;
    }

    /** @return the last ingress sequence the core has taken (read on any thread) */
    long ingressTaken()
    {
        return ingressPoller.getSequence().get();
    }

    long ingressOccupancy()
    {
        return ingress.getCursor() - ingressPoller.getSequence().get();
    }

    /**
     * After the agent stopped: answers every call still waiting, {@code FATAL} if the node failed,
     * else shut down. Called with the agent stopped, under {@code NodeRuntime}'s drain lock; again
     * for anything published since.
     */
    void drain()
    {
        final int status = failStop.writeStatus();
        final RaftException ex = failStop.stopped(self);
        try
        {
            ingressPoller.poll((event, sequence, endOfBatch) ->
            {
                if (event.type == IngressEvent.WRITE)
                {
                    failStop.onWriteResult(event.handler, event.correlationId, status, 0, Vote.NO_NODE, EMPTY, 0, 0);
                    event.releasePayload(ingressBudget);
                }
                else if (event.type == IngressEvent.READ)
                {
                    event.read.completeExceptionally(ex);
                }
                event.clear();
                return true;
            });
        }
        catch (final Exception e)
        {
            throw new IllegalStateException(e);
        }
        for (int i = 0; i < batchSize; i++)
        {
            final IngressEvent e = batched(i);
            failStop.onWriteResult(e.handler, e.correlationId, status, 0, Vote.NO_NODE, EMPTY, 0, 0);
            e.releasePayload(ingressBudget);
            e.clear();
        }
        batchSize = 0;
        PendingWrites.Pending p;
        while ((p = pending.removeAny()) != null)
        {
            answer(p, status, Vote.NO_NODE);
        }
        reads.failAll(ex);
        final int adminStatus = status == WriteStatus.FATAL ? AdminStatus.FATAL : AdminStatus.SHUT_DOWN;
        adminFutures.values().forEach(f -> f.complete(new AdminResult(adminStatus, 0, Vote.NO_NODE, ex.getMessage())));
        adminFutures.clear();
        snapshotWaiters.forEach(f -> f.completeExceptionally(ex));
        snapshotWaiters.clear();
        receiver.abort();
        peerList.forEach(ReplicationCore::close);
    }
}
