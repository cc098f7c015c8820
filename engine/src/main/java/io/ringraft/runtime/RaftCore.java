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
import io.ringraft.WriteHandler;
import io.ringraft.WriteStatus;
import io.ringraft.engine.Engine;
import io.ringraft.engine.EngineOutput;
import io.ringraft.engine.InitialState;
import io.ringraft.engine.Role;
import io.ringraft.network.InstallSnapshotRequest;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.RaftNetwork;
import io.ringraft.storage.EntryReader;
import io.ringraft.storage.RaftLogStorage;
import io.ringraft.storage.RaftSnapshotStore;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotWriter;
import com.lmax.disruptor.EventPoller;
import com.lmax.disruptor.InsufficientCapacityException;
import com.lmax.disruptor.RingBuffer;
import org.agrona.DirectBuffer;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentTerminationException;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.NanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.AtomicCounter;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
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
    private final RingBuffer<IngressEvent> ingress;
    private final EventPoller<IngressEvent> ingressPoller;
    private final RingBuffer<ApplyEvent> applyRing;
    private final PendingWrites pending = new PendingWrites();
    private final IngressEvent[] batch;
    private final Long2ObjectHashMap<ReplicationCore> peers = new Long2ObjectHashMap<>();
    private final ArrayList<ReplicationCore> peerList = new ArrayList<>();
    private final ArrayList<AtomicCounter> peerMatchCounters = new ArrayList<>(); // parallel to peerList
    private final Long2ObjectHashMap<List<CompletableFuture<Long>>> readGroups = new Long2ObjectHashMap<>();
    private final ArrayDeque<ReadyReads> readyReads = new ArrayDeque<>();
    private final EntryReader applyPublisher = this::publishEntry;
    private final RaftSnapshotStore snapshots;
    private final ManyToOneConcurrentArrayQueue<Object> fromWorker;
    private final Long2ObjectHashMap<CompletableFuture<AdminResult>> adminFutures = new Long2ObjectHashMap<>();
    private final ArrayList<CompletableFuture<SnapshotMeta>> snapshotWaiters = new ArrayList<>();
    private long nextAdminId;
    private boolean snapshotRequested;
    private boolean snapshotBuilding;
    private long lastSnapshotIndex;
    private SnapshotMeta pendingInstall;
    // Receiving a snapshot from the leader.
    private SnapshotWriter receiving;
    private SnapshotMeta receivingMeta;
    private long receivingOffset;
    private long chunkStoredLeader;
    private SnapshotMeta chunkStoredMeta;
    private long chunkStoredOffset;
    private boolean chunkStoredComplete;
    private boolean chunkStored;

    private int batchSize;
    private boolean appended;
    private long applyTarget;
    private long publishedIndex;
    /** The next apply-ring slot to fill in the batch being published. */
    private long claimCursor;
    private ArrayList<CompletableFuture<Long>> collectingReads;
    private long nextReadId;
    private long nowNanos;
    private Membership lastMembership;

    private volatile Membership membership;
    private volatile Map<Long, AtomicCounter> matchCounters = Map.of();
    private volatile Throwable failure;

    private record ReadyReads(long index, List<CompletableFuture<Long>> futures)
    {
    }

    RaftCore(final RaftConfig config, final RaftLogStorage storage, final RaftSnapshotStore snapshots, final RaftNetwork network,
        final LogId stateMachineApplied, final Membership initialMembership, final RaftCounters counters,
        final RingBuffer<IngressEvent> ingress, final RingBuffer<ApplyEvent> applyRing, final ManyToOneConcurrentArrayQueue<Object> fromWorker)
    {
        this.config = config;
        this.self = config.nodeId();
        this.storage = storage;
        this.snapshots = snapshots;
        this.fromWorker = fromWorker;
        this.network = network;
        this.clock = config.nanoClock();
        this.counters = counters;
        this.ingress = ingress;
        this.ingressPoller = ingress.newPoller();
        ingress.addGatingSequences(ingressPoller.getSequence());
        this.applyRing = applyRing;
        this.batch = new IngressEvent[config.maxWritesPerBatch()];
        final SnapshotMeta latestSnapshot = snapshots.latest();
        this.engine = new Engine(config.engineConfig(), InitialState.load(storage, latestSnapshot, stateMachineApplied),
            new SplittableRandom(config.randomSeed()), this);
        this.lastSnapshotIndex = latestSnapshot == null ? 0 : latestSnapshot.lastIncluded().index();
        if (initialMembership != null && engine.lastLogId().index() == 0 && engine.vote().term() == 0)
        {
            engine.initialize(initialMembership);
            storage.flush();
        }
        publishedIndex = engine.appliedIndex();
        applyTarget = publishedIndex;
        counters.applied.setOrdered(publishedIndex);
        nowNanos = clock.nanoTime();
        engine.start(nowNanos);
        updateCounters();
    }

    @Override
    public int doWork()
    {
        try
        {
            nowNanos = clock.nanoTime();
            engine.tick(nowNanos);
            int work = pollIngress();
            work += network.poll(this, NETWORK_POLL_LIMIT);
            if (appended)
            {
                // One flush per duty cycle: a group commit of everything appended in it. A storage
                // that completes durability asynchronously reports less; ask again next cycle.
                final long durable = storage.flush();
                appended = durable < storage.lastLogIndex();
                engine.onLogFlushed(durable);
                work++;
            }
            for (int i = 0; i < peerList.size(); i++)
            {
                work += peerList.get(i).doWork();
            }
            work += pollWorker();
            work += publishApplies();
            work += maybeBuildSnapshot();
            work += expireWrites();
            updateCounters();
            return work;
        }
        catch (final AgentTerminationException ex)
        {
            throw ex;
        }
        catch (final RuntimeException | Error ex)
        {
            // A storage failure or a broken invariant: this node can no longer keep its promises.
            failure = ex;
            counters.errors.increment();
            throw new AgentTerminationException(ex);
        }
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
        if (collectingReads != null)
        {
            final long readId = ++nextReadId;
            readGroups.put(readId, collectingReads);
            collectingReads = null;
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
                batch[batchSize++] = event;
                if (batchSize == batch.length)
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
                    readyReads.addLast(new ReadyReads(leaseIndex, List.of(event.read)));
                }
                else
                {
                    if (collectingReads == null)
                    {
                        collectingReads = new ArrayList<>();
                    }
                    collectingReads.add(event.read);
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

    private void flushWriteBatch()
    {
        final int count = batchSize;
        if (count == 0)
        {
            return;
        }
        final long first = engine.clientWrite(count);
        if (first < 0)
        {
            final int status = first == Engine.TRANSFERRING ? WriteStatus.TRANSFERRING : WriteStatus.NOT_LEADER;
            final long leader = engine.leaderId();
            for (int i = 0; i < count; i++)
            {
                final IngressEvent e = batch[i];
                e.handler.onWriteResult(e.correlationId, status, 0, leader, EMPTY, 0, 0);
            }
        }
        for (int i = 0; i < count; i++)
        {
            batch[i].clear();
            batch[i] = null;
        }
        batchSize = 0;
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
            final IngressEvent e = batch[i];
            storage.append(term, firstIndex + i, EntryType.NORMAL, e.payload, 0, e.length);
            pending.add(firstIndex + i, term, e.correlationId, e.handler, deadline);
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
    private static void answer(final PendingWrites.Pending p, final int status, final long leaderId)
    {
        p.handler.onWriteResult(p.correlationId, status, p.index, leaderId, EMPTY, 0, 0);
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
        applyTarget = toIndex;
    }

    @Override
    public void readIndexReady(final long readId, final long readIndex)
    {
        final List<CompletableFuture<Long>> group = readGroups.remove(readId);
        if (group != null)
        {
            readyReads.addLast(new ReadyReads(readIndex, group));
        }
    }

    @Override
    public void readIndexFailed(final long readId, final long leaderId)
    {
        final List<CompletableFuture<Long>> group = readGroups.remove(readId);
        if (group != null)
        {
            final RaftException ex = new RaftException(WriteStatus.NOT_LEADER, leaderId, "node " + self + " is not the leader" +
                (leaderId != Vote.NO_NODE ? "; the leader is node " + leaderId : ""));
            group.forEach(f -> f.completeExceptionally(ex));
        }
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
    }

    @Override
    public void sendSnapshotChunk(final long peer, final long term, final SnapshotMeta meta, final long offset)
    {
        peer(peer).sendSnapshotChunk(term, meta, offset);
    }

    /** Writes a chunk from the leader into the snapshot store; the engine hears of it once the message is handled. */
    @Override
    public void storeSnapshotChunk(final InstallSnapshotRequest request)
    {
        final SnapshotMeta meta = request.meta();
        if (receivingMeta == null || !receivingMeta.equals(meta))
        {
            if (request.offset() != 0)
            {
                chunkStored(request.from(), meta, 0, false); // not the snapshot under way: start over
                return;
            }
            abortReceiving();
            receiving = snapshots.create(meta);
            receivingMeta = meta;
            receivingOffset = 0;
        }
        if (request.offset() == receivingOffset)
        {
            receiving.write(new UnsafeBuffer(request.chunk()), 0, request.chunk().length);
            receivingOffset += request.chunk().length;
        }
        if (request.done() && receivingOffset == meta.sizeBytes())
        {
            final SnapshotMeta latest = snapshots.latest();
            if (latest != null && latest.lastIncluded().index() >= meta.lastIncluded().index())
            {
                // This node holds a snapshot at least as recent: keep it (the store keeps only the
                // newest) and report the transfer done; the engine installs nothing older.
                abortReceiving();
                chunkStored(request.from(), meta, meta.sizeBytes(), true);
                return;
            }
            final SnapshotMeta committed = receiving.commit();
            receiving = null;
            receivingMeta = null;
            if (committed.crc32c() != meta.crc32c() || committed.sizeBytes() != meta.sizeBytes())
            {
                chunkStored(request.from(), meta, 0, false); // corrupt in transit: start over
                return;
            }
            chunkStored(request.from(), committed, committed.sizeBytes(), true);
            return;
        }
        chunkStored(request.from(), meta, receivingOffset, false);
    }

    private void chunkStored(final long leader, final SnapshotMeta meta, final long nextOffset, final boolean complete)
    {
        chunkStored = true;
        chunkStoredLeader = leader;
        chunkStoredMeta = meta;
        chunkStoredOffset = nextOffset;
        chunkStoredComplete = complete;
    }

    private void abortReceiving()
    {
        if (receiving != null)
        {
            receiving.abort();
            receiving = null;
            receivingMeta = null;
        }
    }

    @Override
    public void installSnapshot(final SnapshotMeta meta)
    {
        final long index = meta.lastIncluded().index();
        forgetBuiltBatches();
        storage.purgePrefix(meta.lastIncluded());
        appended = true;
        pendingInstall = meta;
        applyTarget = Math.max(applyTarget, index);
        lastSnapshotIndex = Math.max(lastSnapshotIndex, index);
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
            future.complete(new AdminResult(status, index, leaderId, message));
        }
    }

    @Override
    public void onMessage(final RaftMessage message)
    {
        if (message.to() == self)
        {
            engine.handle(message);
            if (chunkStored)
            {
                chunkStored = false;
                final SnapshotMeta meta = chunkStoredMeta;
                chunkStoredMeta = null;
                engine.onSnapshotChunkStored(chunkStoredLeader, meta, chunkStoredOffset, chunkStoredComplete);
            }
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
                engine.onSnapshotBuilt(meta);
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
        final boolean due = config.snapshotEveryEntries() > 0 && publishedIndex - lastSnapshotIndex >= config.snapshotEveryEntries();
        if (snapshotBuilding || !(snapshotRequested || due) || publishedIndex == 0 || pendingInstall != null)
        {
            return 0;
        }
        final long seq;
        try
        {
            seq = applyRing.tryNext();
        }
        catch (final InsufficientCapacityException ex)
        {
            return 0;
        }
        final ApplyEvent event = applyRing.get(seq);
        event.type = ApplyEvent.BUILD_SNAPSHOT;
        event.membership = engine.membershipAt(publishedIndex);
        applyRing.publish(seq);
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

    void transferLeader(final CompletableFuture<AdminResult> future, final long target, final long timeoutNanos)
    {
        final long id = ++nextAdminId;
        adminFutures.put(id, future);
        engine.transferLeader(id, target, timeoutNanos);
    }

    // ---------------------------------------------------------------------------------------
    // Apply ring

    private int publishApplies()
    {
        if (pendingInstall != null)
        {
            final long seq;
            try
            {
                seq = applyRing.tryNext();
            }
            catch (final InsufficientCapacityException ex)
            {
                return 0;
            }
            final ApplyEvent event = applyRing.get(seq);
            event.type = ApplyEvent.INSTALL_SNAPSHOT;
            event.snapshot = pendingInstall;
            applyRing.publish(seq);
            publishedIndex = Math.max(publishedIndex, pendingInstall.lastIncluded().index());
            pendingInstall = null;
        }
        final long before = publishedIndex;
        final int count = (int)Math.min(applyTarget - publishedIndex, applyRing.remainingCapacity());
        if (count > 0)
        {
            // Claim the slots for the whole batch, fill them from the log, publish them at once.
            final long hi = applyRing.next(count);
            claimCursor = hi - count + 1;
            final int delivered = storage.read(publishedIndex + 1, publishedIndex + 1 + count, applyPublisher);
            if (delivered != count)
            {
                throw new IllegalStateException("log read " + delivered + " of " + count + " committed entries from " +
                    (before + 1) + " (log " + storage.lastPurgedLogId() + ".." + storage.lastLogId() + ")");
            }
            applyRing.publish(hi - count + 1, hi);
        }
        int work = (int)(publishedIndex - before);
        while (!readyReads.isEmpty() && readyReads.peekFirst().index() <= publishedIndex)
        {
            final long seq;
            try
            {
                seq = applyRing.tryNext();
            }
            catch (final InsufficientCapacityException ex)
            {
                break;
            }
            final ReadyReads ready = readyReads.pollFirst();
            final ApplyEvent event = applyRing.get(seq);
            event.type = ApplyEvent.READS;
            event.reads = ready.futures();
            event.readIndex = ready.index();
            applyRing.publish(seq);
            work++;
        }
        return work;
    }

    private boolean publishEntry(final long term, final long index, final EntryType type, final DirectBuffer buffer, final int offset,
        final int length)
    {
        final ApplyEvent event = applyRing.get(claimCursor++);
        event.type = ApplyEvent.ENTRY;
        event.index = index;
        event.term = term;
        event.entryType = type;
        event.payload.putBytes(0, buffer, offset, length);
        event.length = length;
        final PendingWrites.Pending p = pending.remove(index);
        if (p != null)
        {
            if (p.term == term)
            {
                event.handler = p.handler;
                event.correlationId = p.correlationId;
            }
            else
            {
                answer(p, WriteStatus.ABORTED, engine.leaderId()); // another leader's entry took its index
            }
        }
        publishedIndex = index;
        return true;
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
            final Map<Long, AtomicCounter> next = new HashMap<>(matchCounters);
            next.put(peerId, matchCounter);
            matchCounters = Collections.unmodifiableMap(next);
        }
        return core;
    }

    private void updateCounters()
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
        final Membership m = engine.membership();
        if (m != lastMembership)
        {
            lastMembership = m;
            membership = m;
        }
        if (engine.role() == Role.LEADER)
        {
            for (int i = 0; i < peerList.size(); i++)
            {
                peerMatchCounters.get(i).setOrdered(engine.matchIndex(peerList.get(i).peer()));
            }
        }
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

    long ingressOccupancy()
    {
        return ingress.getCursor() - ingressPoller.getSequence().get();
    }

    Throwable failure()
    {
        return failure;
    }

    /**
     * After the agent stopped: answers every call still waiting as shut down. Called once, by the
     * closing thread, with the agent thread joined.
     */
    void drainOnClose()
    {
        try
        {
            ingressPoller.poll((event, sequence, endOfBatch) ->
            {
                if (event.type == IngressEvent.WRITE)
                {
                    event.handler.onWriteResult(event.correlationId, WriteStatus.SHUT_DOWN, 0, Vote.NO_NODE, EMPTY, 0, 0);
                }
                else if (event.type == IngressEvent.READ)
                {
                    event.read.completeExceptionally(shutDown());
                }
                event.clear();
                return true;
            });
        }
        catch (final Exception ex)
        {
            throw new IllegalStateException(ex);
        }
        for (int i = 0; i < batchSize; i++)
        {
            batch[i].handler.onWriteResult(batch[i].correlationId, WriteStatus.SHUT_DOWN, 0, Vote.NO_NODE, EMPTY, 0, 0);
            batch[i].clear();
            batch[i] = null;
        }
        batchSize = 0;
        PendingWrites.Pending p;
        while ((p = pending.removeAny()) != null)
        {
            answer(p, WriteStatus.SHUT_DOWN, Vote.NO_NODE);
        }
        final RaftException ex = shutDown();
        if (collectingReads != null)
        {
            collectingReads.forEach(f -> f.completeExceptionally(ex));
            collectingReads = null;
        }
        readGroups.values().forEach(group -> group.forEach(f -> f.completeExceptionally(ex)));
        readGroups.clear();
        readyReads.forEach(r -> r.futures().forEach(f -> f.completeExceptionally(ex)));
        readyReads.clear();
        adminFutures.values().forEach(f -> f.complete(new AdminResult(AdminStatus.SHUT_DOWN, 0, Vote.NO_NODE, ex.getMessage())));
        adminFutures.clear();
        snapshotWaiters.forEach(f -> f.completeExceptionally(ex));
        snapshotWaiters.clear();
        abortReceiving();
        peerList.forEach(ReplicationCore::close);
    }

    private RaftException shutDown()
    {
        return new RaftException(WriteStatus.SHUT_DOWN, Vote.NO_NODE, "node " + self + " shut down" +
            (failure != null ? " after a failure: " + failure : ""));
    }
}
