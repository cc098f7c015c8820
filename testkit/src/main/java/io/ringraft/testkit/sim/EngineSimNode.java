package io.ringraft.testkit.sim;

import io.ringraft.Entry;
import io.ringraft.EntryBatch;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.engine.Engine;
import io.ringraft.engine.EngineConfig;
import io.ringraft.engine.EngineOutput;
import io.ringraft.engine.InitialState;
import io.ringraft.engine.Role;
import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.InstallSnapshotRequest;
import io.ringraft.network.RaftMessage;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import io.ringraft.statemachine.KvStateMachine;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * A {@link SimNode} that drives the bare {@link Engine}: it executes the engine's output port
 * synchronously against a {@link SimLogStorage}, a {@link KvStateMachine}, a snapshot store and
 * the simulated network, and schedules what a runtime does asynchronously (log flushes, snapshot
 * builds, stored snapshot chunks) as later events.
 * <p>
 * The snapshot store survives crashes (a snapshot is durable once committed); a snapshot being
 * received does not. On restart the state machine is restored from the latest snapshot.
 */
public final class EngineSimNode extends BaseSimNode
{
    private final Long2ObjectHashMap<PendingWrite> pendingWrites = new Long2ObjectHashMap<>();
    private final Long2ObjectHashMap<ReadCallback> pendingReads = new Long2ObjectHashMap<>();
    private final ArrayList<ParkedRead> parkedReads = new ArrayList<>();
    private final ExpandableArrayBuffer response = new ExpandableArrayBuffer(64);
    private final UnsafeBuffer applyBuffer = new UnsafeBuffer(new byte[0]);
    private final Output output = new Output();
    private Engine engine;
    private boolean flushScheduled;
    private long applied;
    private byte[] submitting;
    private WriteCallback submittingCallback;
    private boolean snapshotScheduled;
    private int snapshotsBuilt;
    private SnapshotWriter receiving;
    private SnapshotMeta receivingMeta;
    /** The complete snapshot being reported to the engine, which may install it. */
    private SnapshotMeta installing;
    /** A snapshot chunk stored while handling the current message, reported right after it. */
    private ChunkStored chunkStored;

    EngineSimNode(final SimCluster cluster, final long id, final EngineConfig config, final long clockOffset, final double clockRate,
        final long snapshotEvery, final int snapshotChunkBytes)
    {
        super(cluster, id, config, clockOffset, clockRate, snapshotEvery, snapshotChunkBytes);
    }

    @Override
    public void start(final Membership membership, final long simNanos)
    {
        stateMachine = new KvStateMachine();
        engine = new Engine(config, InitialState.pristine(), new SplittableRandom(cluster.random().nextLong()), output);
        up = true;
        if (membership != null)
        {
            engine.initialize(membership);
        }
        engine.start(localClock(simNanos));
        if (membership != null)
        {
            final long durable = storage.flush();
            cluster.trace(id, "flush", durable);
            engine.onLogFlushed(durable);
        }
    }

    @Override
    public long nextWakeup()
    {
        final long deadline = engine.nextDeadlineNanos();
        if (deadline == Long.MAX_VALUE)
        {
            return Long.MAX_VALUE;
        }
        return simTimeOf(deadline);
    }

    @Override
    public void tick(final long simNanos)
    {
        engine.tick(localClock(simNanos));
    }

    @Override
    public void deliver(final RaftMessage message, final long simNanos)
    {
        tick(simNanos);
        engine.handle(message);
        if (chunkStored != null)
        {
            // As RaftCore does: the engine hears that a snapshot chunk is stored right after the message that carried it.
            final ChunkStored stored = chunkStored;
            chunkStored = null;
            installing = stored.complete ? stored.meta : null;
            try
            {
                engine.onSnapshotChunkStored(stored.leader, stored.meta, stored.nextOffset, stored.complete);
            }
            finally
            {
                installing = null;
            }
        }
    }

    @Override
    public void flush(final long simNanos)
    {
        flushScheduled = false;
        tick(simNanos);
        final long durable = storage.flush();
        cluster.trace(id, "flush", durable);
        engine.onLogFlushed(durable);
    }

    @Override
    public void crash()
    {
        requireUp();
        up = false;
        crashes++;
        engine = null;
        stateMachine = null;
        flushScheduled = false;
        snapshotScheduled = false;
        applied = 0;
        storage.crash();
        chunkStored = null;
        if (receiving != null)
        {
            receiving.abort();
            receiving = null;
            receivingMeta = null;
        }
        final List<WriteCallback> writes = new ArrayList<>();
        for (final long index : new TreeMap<>(pendingWrites).keySet())
        {
            writes.add(pendingWrites.get(index).callback);
        }
        final List<ReadCallback> reads = new ArrayList<>();
        for (final long readId : new TreeMap<>(pendingReads).keySet())
        {
            reads.add(pendingReads.get(readId));
        }
        for (final ParkedRead parked : parkedReads)
        {
            reads.add(parked.callback);
        }
        pendingWrites.clear();
        pendingReads.clear();
        parkedReads.clear();
        for (final WriteCallback callback : writes)
        {
            callback.unknown();
        }
        for (final ReadCallback callback : reads)
        {
            callback.failed(Vote.NO_NODE);
        }
    }

    @Override
    public void restart(final long simNanos)
    {
        requireDown();
        stateMachine = new KvStateMachine();
        final SnapshotMeta latest = snapshots.latest();
        if (latest != null)
        {
            try (SnapshotReader reader = snapshots.open(latest))
            {
                stateMachine.installSnapshot(latest, reader);
            }
        }
        applied = stateMachine.lastApplied().index();
        final InitialState state = InitialState.load(storage, latest, stateMachine.lastApplied());
        engine = new Engine(config, state, new SplittableRandom(cluster.random().nextLong()), output);
        up = true;
        engine.start(localClock(simNanos));
    }

    @Override
    public long submit(final byte[] payload, final WriteCallback callback, final long simNanos)
    {
        tick(simNanos);
        submitting = payload;
        submittingCallback = callback;
        try
        {
            return engine.clientWrite(1);
        }
        finally
        {
            submitting = null;
            submittingCallback = null;
        }
    }

    @Override
    public void readIndex(final ReadCallback callback, final long simNanos)
    {
        tick(simNanos);
        final long readId = cluster.nextReadId();
        pendingReads.put(readId, callback);
        engine.readIndex(readId);
    }

    @Override
    public void leaseRead(final ReadCallback callback, final long simNanos)
    {
        tick(simNanos);
        final long readIndex = engine.leaseRead();
        cluster.trace(id, "leaseRead", readIndex);
        if (readIndex < 0)
        {
            readIndex(callback, simNanos);
            return;
        }
        cluster.onLeaseReadServed();
        if (readIndex <= applied)
        {
            callback.ready(stateMachine);
        }
        else
        {
            parkedReads.add(new ParkedRead(readIndex, callback));
        }
    }

    @Override
    public void triggerElection(final long simNanos)
    {
        tick(simNanos);
        engine.triggerElection();
    }

    @Override
    public void triggerHeartbeat(final long simNanos)
    {
        tick(simNanos);
        engine.triggerHeartbeat();
    }

    @Override
    public long transferLeader(final long target, final long timeoutNanos, final long simNanos)
    {
        tick(simNanos);
        final long requestId = cluster.nextRequestId();
        engine.transferLeader(requestId, target, timeoutNanos);
        return requestId;
    }

    @Override
    public long addLearner(final long node, final long simNanos)
    {
        tick(simNanos);
        final long requestId = cluster.nextRequestId();
        engine.addLearner(requestId, node, null, 10 * config.electionTimeoutMaxNanos());
        return requestId;
    }

    @Override
    public long changeMembership(final long[] newVoters, final boolean retainRemovedAsLearners, final long simNanos)
    {
        tick(simNanos);
        final long requestId = cluster.nextRequestId();
        engine.changeMembership(requestId, newVoters, retainRemovedAsLearners, 10 * config.electionTimeoutMaxNanos());
        return requestId;
    }

    @Override
    public Membership membershipAt(final long index)
    {
        return up ? engine.membershipAt(index) : null;
    }

    @Override
    public Membership membership()
    {
        return up ? engine.membership() : null;
    }

    @Override
    public void buildSnapshot(final long simNanos)
    {
        snapshotScheduled = false;
        tick(simNanos);
        final LogId point = stateMachine.lastApplied();
        final SnapshotMeta latest = snapshots.latest();
        if (point.index() == 0 || latest != null && latest.lastIncluded().index() >= point.index())
        {
            return;
        }
        final SnapshotMeta meta;
        try (SnapshotWriter writer = snapshots.create(new SnapshotMeta(point, engine.membershipAt(point.index()),
            "N" + id + "-" + point + "-" + (++snapshotsBuilt), -1, 0)))
        {
            stateMachine.buildSnapshot(writer);
            meta = writer.commit();
        }
        cluster.trace(id, "snapshotBuilt", meta.lastIncluded());
        engine.onSnapshotBuilt(meta);
    }

    @Override
    public NodeMetrics metrics()
    {
        if (!up)
        {
            return downMetrics();
        }
        final Map<Long, Long> matched = new TreeMap<>();
        if (engine.role() == Role.LEADER)
        {
            for (final long peer : engine.membership().allNodes())
            {
                if (peer != id)
                {
                    matched.put(peer, engine.matchIndex(peer));
                }
            }
        }
        return new NodeMetrics(id, true, engine.role(), engine.currentTerm(), engine.vote(), engine.leaderId(),
            engine.lastLogId(), engine.flushedLogId(), engine.committedIndex(), engine.appliedIndex(), engine.membership(),
            engine.lastPurgedLogId(), engine.latestSnapshot() == null ? null : engine.latestSnapshot().lastIncluded(), matched);
    }

    @Override
    public Role role()
    {
        return up ? engine.role() : null;
    }

    @Override
    public long leaderId()
    {
        return up ? engine.leaderId() : Vote.NO_NODE;
    }

    @Override
    public long currentTerm()
    {
        return up ? engine.currentTerm() : storage.readVote().term();
    }

    @Override
    public long committedIndex()
    {
        return up ? engine.committedIndex() : 0;
    }

    @Override
    public long appliedIndex()
    {
        return up ? engine.appliedIndex() : 0;
    }

    /** @return the engine, for tests that need an accessor the metrics lack; null while crashed */
    public Engine engine()
    {
        return engine;
    }

    private void appendChecked(final Entry entry)
    {
        cluster.checker().onAppend(this, entry);
        storage.append(entry);
    }

    private void requestFlush()
    {
        if (!flushScheduled)
        {
            flushScheduled = true;
            cluster.scheduleFlush(this);
        }
    }

    private void serveParkedReads()
    {
        if (parkedReads.isEmpty())
        {
            return;
        }
        final List<ReadCallback> ready = new ArrayList<>();
        parkedReads.removeIf(parked ->
        {
            if (parked.readIndex <= applied)
            {
                ready.add(parked.callback);
                return true;
            }
            return false;
        });
        for (final ReadCallback callback : ready)
        {
            callback.ready(stateMachine);
        }
    }

    private record PendingWrite(long term, WriteCallback callback)
    {
    }

    private record ParkedRead(long readIndex, ReadCallback callback)
    {
    }

    private record ChunkStored(long leader, SnapshotMeta meta, long nextOffset, boolean complete)
    {
    }

    /** The engine's output port, executed synchronously in order. */
    private final class Output implements EngineOutput
    {
        @Override
        public void saveVote(final Vote vote)
        {
            cluster.trace(id, "saveVote", vote);
            storage.saveVote(vote);
        }

        @Override
        public void appendEntries(final EntryBatch batch, final int from)
        {
            final List<Entry> entries = batch.toList().subList(from, batch.size());
            cluster.trace(id, "append", entries);
            for (final Entry entry : entries)
            {
                appendChecked(entry);
            }
            requestFlush();
        }

        @Override
        public void appendClientEntries(final long term, final long firstIndex, final int count)
        {
            if (submitting == null || count != 1)
            {
                throw new InvariantViolation("node " + id + ": appendClientEntries(" + term + ", " + firstIndex + ", " + count +
                    ") outside a clientWrite(1) call");
            }
            final Entry entry = new Entry(term, firstIndex, EntryType.NORMAL, submitting);
            cluster.trace(id, "appendClient", entry.logId());
            appendChecked(entry);
            final PendingWrite replaced = pendingWrites.put(firstIndex, new PendingWrite(term, submittingCallback));
            if (replaced != null)
            {
                replaced.callback.unknown();
            }
            requestFlush();
        }

        @Override
        public void truncateLog(final long fromIndex)
        {
            cluster.trace(id, "truncate", fromIndex);
            cluster.countTruncation(storage.lastLogId().index() - fromIndex + 1);
            // Raft §7: a snapshot that does not match the log replaces the whole log, committed prefix included.
            cluster.checker().onTruncate(EngineSimNode.this, fromIndex, installing == null ? 0 : installing.lastIncluded().index());
            storage.truncateSuffix(fromIndex);
            requestFlush();
        }

        @Override
        public void send(final RaftMessage message)
        {
            cluster.network().send(message);
        }

        @Override
        public void replicate(final long peer, final long term, final long prevLogTerm, final long prevLogIndex, final long fromIndex,
            final long toIndexExclusive, final long leaderCommit, final long seq)
        {
            final LogId prevLogId = new LogId(prevLogTerm, prevLogIndex);
            if (fromIndex != prevLogId.index() + 1 || toIndexExclusive < fromIndex)
            {
                throw new InvariantViolation("node " + id + ": replicate to " + peer + " with prev " + prevLogId + " and range [" +
                    fromIndex + ", " + toIndexExclusive + ")");
            }
            if (storage.termAt(prevLogId.index()) != prevLogId.term())
            {
                throw new InvariantViolation("node " + id + ": replicate to " + peer + " with prev " + prevLogId +
                    " but the local log has term " + storage.termAt(prevLogId.index()) + " there");
            }
            final List<Entry> entries = storage.entries(fromIndex, toIndexExclusive);
            if (entries.size() != toIndexExclusive - fromIndex)
            {
                throw new InvariantViolation("node " + id + ": replicate [" + fromIndex + ", " + toIndexExclusive +
                    ") beyond the local log " + storage.lastLogId());
            }
            cluster.network().send(new AppendEntriesRequest(id, peer, term, prevLogId, leaderCommit, seq, entries));
        }

        @Override
        public void apply(final long fromIndex, final long toIndex)
        {
            if (fromIndex != applied + 1 || toIndex < fromIndex)
            {
                throw new InvariantViolation("node " + id + ": apply(" + fromIndex + ", " + toIndex + ") after applying up to " +
                    applied);
            }
            cluster.trace(id, "apply", fromIndex + ".." + toIndex);
            Entry last = null;
            for (long index = fromIndex; index <= toIndex; index++)
            {
                final Entry entry = storage.entry(index);
                cluster.checker().onApply(EngineSimNode.this, entry);
                String result = null;
                if (entry.type() == EntryType.NORMAL)
                {
                    final byte[] payload = entry.payload();
                    applyBuffer.wrap(payload);
                    final int length = stateMachine.apply(index, entry.term(), applyBuffer, 0, payload.length, response);
                    result = KvStateMachine.decodeResult(response, length);
                }
                applied = index;
                last = entry;
                final PendingWrite pending = pendingWrites.remove(index);
                if (pending != null)
                {
                    if (pending.term == entry.term() && entry.type() == EntryType.NORMAL)
                    {
                        pending.callback.applied(index, result);
                    }
                    else
                    {
                        pending.callback.superseded(index);
                    }
                }
            }
            stateMachine.onBatchEnd(last.index(), last.term());
            serveParkedReads();
            final SnapshotMeta latest = snapshots.latest();
            final long snapshotted = latest == null ? 0 : latest.lastIncluded().index();
            if (snapshotEvery > 0 && applied - snapshotted >= snapshotEvery && !snapshotScheduled)
            {
                snapshotScheduled = true;
                cluster.scheduleSnapshot(EngineSimNode.this);
            }
        }

        @Override
        public void sendSnapshotChunk(final long peer, final long term, final SnapshotMeta meta, final long offset)
        {
            final SnapshotMeta latest = snapshots.latest();
            if (latest == null || !latest.equals(meta))
            {
                cluster.trace(id, "snapshotGone", meta.snapshotId());
                return;
            }
            try (SnapshotReader reader = snapshots.open(meta))
            {
                final int length = (int)Math.min(snapshotChunkBytes, reader.size() - offset);
                final UnsafeBuffer chunk = new UnsafeBuffer(new byte[Math.max(length, 0)]);
                final int read = length <= 0 ? 0 : reader.read(offset, chunk, 0, length);
                cluster.network().send(new InstallSnapshotRequest(id, peer, term, meta, offset, chunk.byteArray(),
                    offset + read >= reader.size()));
            }
        }

        @Override
        public void storeSnapshotChunk(final InstallSnapshotRequest request)
        {
            final SnapshotMeta meta = request.meta();
            if (request.offset() == 0 && (receivingMeta == null || !receivingMeta.snapshotId().equals(meta.snapshotId()) ||
                receiving.position() > 0))
            {
                if (receiving != null)
                {
                    receiving.abort();
                }
                receiving = snapshots.create(meta);
                receivingMeta = meta;
            }
            if (receiving == null || !receivingMeta.snapshotId().equals(meta.snapshotId()) ||
                request.offset() != receiving.position())
            {
                // Not the chunk expected next: report where this node is (0 if it holds nothing of that snapshot).
                final long expected = receiving != null && receivingMeta.snapshotId().equals(meta.snapshotId()) ?
                    receiving.position() : 0;
                chunkStored = new ChunkStored(request.from(), meta, expected, false);
                return;
            }
            receiving.write(new UnsafeBuffer(request.chunk()), 0, request.chunk().length);
            if (!request.done())
            {
                chunkStored = new ChunkStored(request.from(), meta, receiving.position(), false);
                return;
            }
            final SnapshotMeta latest = snapshots.latest();
            final SnapshotMeta stored;
            if (latest != null && latest.lastIncluded().index() >= meta.lastIncluded().index())
            {
                // This node already holds a snapshot at least as recent: keep it, report the transfer done.
                receiving.abort();
                stored = meta;
            }
            else
            {
                stored = receiving.commit();
                if (stored.sizeBytes() != meta.sizeBytes() || stored.crc32c() != meta.crc32c())
                {
                    throw new InvariantViolation("node " + id + ": received snapshot " + meta.snapshotId() + " of " +
                        stored.sizeBytes() + " bytes, crc " + stored.crc32c() + ", but it was sent as " + meta.sizeBytes() +
                        " bytes, crc " + meta.crc32c());
                }
            }
            receiving = null;
            receivingMeta = null;
            cluster.trace(id, "snapshotStored", stored.snapshotId());
            chunkStored = new ChunkStored(request.from(), stored, meta.sizeBytes(), true);
        }

        @Override
        public void installSnapshot(final SnapshotMeta meta)
        {
            cluster.trace(id, "installSnapshot", meta.lastIncluded());
            cluster.checker().onInstallSnapshot(EngineSimNode.this, meta);
            try (SnapshotReader reader = snapshots.open(meta))
            {
                stateMachine.installSnapshot(meta, reader);
            }
            snapshotsInstalled++;
            final long point = meta.lastIncluded().index();
            applied = Math.max(applied, point);
            storage.purgePrefix(meta.lastIncluded());
            requestFlush();
            for (final long index : new TreeMap<>(pendingWrites).keySet())
            {
                if (index <= point)
                {
                    // Covered by the snapshot: this node will never apply it itself, so it cannot tell.
                    pendingWrites.remove(index).callback.unknown();
                }
            }
            serveParkedReads();
        }

        @Override
        public void purgeLog(final LogId upTo)
        {
            cluster.trace(id, "purge", upTo);
            storage.purgePrefix(upTo);
            requestFlush();
        }

        @Override
        public void adminResult(final long requestId, final int status, final long index, final long leaderId, final String message)
        {
            final AdminOutcome outcome = new AdminOutcome(id, requestId, status, index, leaderId, message);
            cluster.trace(id, "admin", outcome.toString());
            cluster.onAdminOutcome(outcome);
        }

        @Override
        public void readIndexReady(final long readId, final long readIndex)
        {
            cluster.trace(id, "readIndexReady", readId + "@" + readIndex);
            final ReadCallback callback = pendingReads.remove(readId);
            if (callback == null)
            {
                throw new InvariantViolation("node " + id + ": readIndexReady for unknown read " + readId);
            }
            if (readIndex <= applied)
            {
                callback.ready(stateMachine);
            }
            else
            {
                parkedReads.add(new ParkedRead(readIndex, callback));
            }
        }

        @Override
        public void readIndexFailed(final long readId, final long leaderId)
        {
            cluster.trace(id, "readIndexFailed", readId + " leader=" + leaderId);
            final ReadCallback callback = pendingReads.remove(readId);
            if (callback == null)
            {
                throw new InvariantViolation("node " + id + ": readIndexFailed for unknown read " + readId);
            }
            callback.failed(leaderId);
        }

        @Override
        public void roleChanged(final Role role, final long term, final long leaderId)
        {
            cluster.trace(id, "role", role + " t" + term + " leader=" + leaderId);
            if (role == Role.LEADER)
            {
                cluster.checker().onLeader(EngineSimNode.this, term);
                cluster.leaderElected(id, term);
            }
        }
    }
}
