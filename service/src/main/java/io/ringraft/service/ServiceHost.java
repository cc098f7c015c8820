package io.ringraft.service;

import io.ringraft.LogId;
import io.ringraft.client.ClientProtocol;
import io.ringraft.statemachine.RaftStateMachine;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.LongArrayList;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The service host's replicated state and the {@link RaftStateMachine} the node applies: it
 * decodes the host's log entries ({@link ServiceEntry}), keeps cluster time, client sessions and
 * timers, and calls the {@link ClusteredService}.
 * <p>
 * <b>Cluster time.</b> Every entry the host writes carries its leader's clock; applying an entry
 * sets the cluster time to the larger of the previous cluster time and that stamp, so it is the
 * same on every replica and never goes backwards, also when a new leader's clock is behind. The
 * first entry of a new term gives every session a fresh timeout: while there was no leader no
 * client could keep its session alive.
 * <p>
 * <b>Before each entry</b> the host expires the sessions whose last activity is older than the
 * session timeout in cluster time, then fires the timers whose deadline the cluster time reached
 * (in (deadline, id) order), then applies the entry: all of it a function of the log alone.
 * <p>
 * <b>Exactly once.</b> A command whose (session, sequence) was applied is not applied again: a
 * retry gets the cached response (flag {@link ClientProtocol#FLAG_DUPLICATE}), or
 * {@link ClientProtocol#RESPONSE_EVICTED}; one at or below the client's acknowledged floor gets
 * {@link ClientProtocol#STALE}. A response longer than {@code maxResponseLength} is not sent:
 * the command is applied and answered {@link ClientProtocol#RESPONSE_EVICTED}. Snapshots hold the cluster time, the sessions with their caches,
 * the timers and the term of the last entry, followed by the service's own state.
 */
public final class ServiceHost implements RaftStateMachine, Cluster
{
    private static final int SNAPSHOT_MAGIC = 0x52525348; // "HSRR"
    private static final int SNAPSHOT_VERSION = 2; // 2: each session's owner after its max sequence, the service term at the end
    private static final int RECENTLY_CLOSED = 1024;

    private final ClusteredService service;
    private final long nodeId;
    private final int maxSessions;
    private final long sessionTimeoutNs;
    private final int maxResponseLength;
    private final int sessionWindow;
    private final int sessionCacheBytes;
    private final Long2ObjectHashMap<Session> sessions = new Long2ObjectHashMap<>();
    private final ConcurrentHashMap<Long, String> endpoints = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, Long> owners = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, String> recentlyClosed = new ConcurrentHashMap<>();
    private final ArrayDeque<Long> closedOrder = new ArrayDeque<>();
    private final TimerQueue timers;
    private final LongArrayList expired = new LongArrayList();
    private final ExpandableArrayBuffer snapshotBuffer = new ExpandableArrayBuffer(64 * 1024);
    private volatile LogId lastApplied = LogId.ZERO;
    // The term of the last service entry applied (in snapshots since version 2).
    private long serviceTerm;
    private volatile long clusterTimeNs;
    private volatile long nextTimerDeadlineNs = Long.MAX_VALUE;
    private long nextExpiryCheckNs = Long.MAX_VALUE;
    private long logIndex;

    /**
     * @param service           the hosted service
     * @param nodeId            this node's id
     * @param maxSessions       open sessions at most; an OPEN beyond gets {@link ClientProtocol#SESSION_LIMIT}
     * @param sessionTimeoutNs  a session without activity for this long (in cluster time) expires
     * @param maxResponseLength the longest response a command may have
     * @param sessionWindow     applied-but-unacknowledged commands a session may have
     * @param sessionCacheBytes response bytes kept per session for retries
     * @param maxTimers         timers at most
     */
    public ServiceHost(final ClusteredService service, final long nodeId, final int maxSessions, final long sessionTimeoutNs,
        final int maxResponseLength, final int sessionWindow, final int sessionCacheBytes, final int maxTimers)
    {
        this.service = service;
        this.nodeId = nodeId;
        this.maxSessions = maxSessions;
        this.sessionTimeoutNs = sessionTimeoutNs;
        this.maxResponseLength = maxResponseLength;
        this.sessionWindow = sessionWindow;
        this.sessionCacheBytes = sessionCacheBytes;
        this.timers = new TimerQueue(maxTimers);
        service.onStart(this);
    }

    /** @return the hosted service */
    public ClusteredService service()
    {
        return service;
    }

    @Override
    public LogId lastApplied()
    {
        return lastApplied;
    }

    @Override
    public long nodeId()
    {
        return nodeId;
    }

    @Override
    public long clusterTimeNs()
    {
        return clusterTimeNs;
    }

    @Override
    public long logIndex()
    {
        return logIndex;
    }

    @Override
    public boolean scheduleTimer(final long timerId, final long deadlineNs)
    {
        final boolean scheduled = timers.schedule(timerId, deadlineNs);
        nextTimerDeadlineNs = timers.earliest();
        return scheduled;
    }

    @Override
    public boolean cancelTimer(final long timerId)
    {
        final boolean cancelled = timers.cancel(timerId);
        nextTimerDeadlineNs = timers.earliest();
        return cancelled;
    }

    @Override
    public int sessionCount()
    {
        return sessions.size();
    }

    /** @return the open sessions; any thread */
    public int openSessions()
    {
        return endpoints.size();
    }

    /** @return the number of scheduled timers (apply thread) */
    public int timerCount()
    {
        return timers.size();
    }

    /**
     * @return the earliest timer deadline in cluster time, or {@link Long#MAX_VALUE}; any thread
     *         (the leader's ingress submits a tick when its clock reaches it)
     */
    public long nextTimerDeadlineNs()
    {
        return nextTimerDeadlineNs;
    }

    /** @return the cluster time of the last applied entry; any thread */
    public long currentClusterTimeNs()
    {
        return clusterTimeNs;
    }

    /**
     * @param sessionId a session id
     * @return the session's response endpoint if it is open, else null; any thread
     */
    public String endpointOf(final long sessionId)
    {
        return endpoints.get(sessionId);
    }

    /**
     * @param sessionId a session id
     * @return the client that owns the open session (signed its OPEN), 0 if it was opened unsigned
     *         or is not open; any thread
     */
    public long ownerOf(final long sessionId)
    {
        final Long owner = owners.get(sessionId);
        return owner == null ? 0 : owner;
    }

    /**
     * @param sessionId a session id
     * @return the response endpoint of a session this node saw close lately (the last
     *         {@value #RECENTLY_CLOSED} closes, not replicated), so that its client can be told; else null
     */
    public String closedEndpointOf(final long sessionId)
    {
        return recentlyClosed.get(sessionId);
    }

    @Override
    public int apply(final long index, final long term, final DirectBuffer payload, final int offset, final int length,
        final MutableDirectBuffer response)
    {
        if (!ServiceEntry.isEntry(payload, offset, length))
        {
            return ServiceEntry.writeResponse(response, ClientProtocol.BAD_REQUEST, 0, 0);
        }
        logIndex = index;
        final long stamp = ServiceEntry.timestamp(payload, offset);
        if (stamp > clusterTimeNs)
        {
            clusterTimeNs = stamp;
        }
        final long now = clusterTimeNs;
        if (term > serviceTerm)
        {
            if (serviceTerm != 0)
            {
                newLeader(now);
            }
            serviceTerm = term;
        }
        if (now >= nextExpiryCheckNs)
        {
            expireSessions(now);
        }
        fireTimers(now);
        final long sessionId = ServiceEntry.sessionId(payload, offset);
        switch (ServiceEntry.type(payload, offset))
        {
            case ServiceEntry.OPEN:
                return open(index, payload, offset, length, now, response);
            case ServiceEntry.COMMAND:
                return command(sessionId, payload, offset, length, now, response);
            case ServiceEntry.KEEPALIVE:
            {
                final Session session = sessions.get(sessionId);
                if (session == null)
                {
                    return ServiceEntry.writeResponse(response, ClientProtocol.UNKNOWN_SESSION, 0, 0);
                }
                touch(session, now);
                session.advanceFloor(ServiceEntry.floor(payload, offset));
                return ServiceEntry.writeResponse(response, ClientProtocol.OK, 0, 0);
            }
            case ServiceEntry.CLOSE:
            {
                final Session session = sessions.get(sessionId);
                if (session == null)
                {
                    return ServiceEntry.writeResponse(response, ClientProtocol.UNKNOWN_SESSION, 0, 0);
                }
                close(session, now, CloseReason.CLIENT);
                return ServiceEntry.writeResponse(response, ClientProtocol.OK, 0, 0);
            }
            case ServiceEntry.TICK:
                return ServiceEntry.writeResponse(response, ClientProtocol.OK, 0, 0);
            default:
                return ServiceEntry.writeResponse(response, ClientProtocol.BAD_REQUEST, 0, 0);
        }
    }

    private int open(final long index, final DirectBuffer payload, final int offset, final int length, final long now,
        final MutableDirectBuffer response)
    {
        if (sessions.size() >= maxSessions)
        {
            return ServiceEntry.writeResponse(response, ClientProtocol.SESSION_LIMIT, 0, 0);
        }
        final String endpoint = payload.getStringWithoutLengthUtf8(offset + ServiceEntry.HEADER, length - ServiceEntry.HEADER);
        // The open entry's log index: unique for the life of the cluster, the same on every replica.
        final long sessionId = index;
        final long owner = ServiceEntry.floor(payload, offset);
        final Session session = new Session(sessionId, endpoint, owner, now, sessionWindow, sessionCacheBytes);
        sessions.put(sessionId, session);
        if (owner != 0)
        {
            owners.put(sessionId, owner); // before the endpoint: the ingress finds an open session's owner
        }
        endpoints.put(sessionId, endpoint);
        nextExpiryCheckNs = Math.min(nextExpiryCheckNs, now + sessionTimeoutNs);
        service.onSessionOpen(sessionId, now);
        return ServiceEntry.writeResponse(response, ClientProtocol.OK, 0, sessionId);
    }

    private int command(final long sessionId, final DirectBuffer payload, final int offset, final int length, final long now,
        final MutableDirectBuffer response)
    {
        final Session session = sessions.get(sessionId);
        if (session == null)
        {
            return ServiceEntry.writeResponse(response, ClientProtocol.UNKNOWN_SESSION, 0, 0);
        }
        touch(session, now);
        session.advanceFloor(ServiceEntry.floor(payload, offset));
        final long sequence = ServiceEntry.correlation(payload, offset);
        if (sequence <= session.floor)
        {
            return ServiceEntry.writeResponse(response, ClientProtocol.STALE, 0, 0);
        }
        final int cached = session.lookup(sequence);
        if (cached == Session.EVICTED)
        {
            return ServiceEntry.writeResponse(response, ClientProtocol.RESPONSE_EVICTED, ClientProtocol.FLAG_DUPLICATE, 0);
        }
        if (cached >= 0)
        {
            ServiceEntry.writeResponse(response, ClientProtocol.OK, ClientProtocol.FLAG_DUPLICATE, 0);
            if (cached > 0)
            {
                response.putBytes(ServiceEntry.RESPONSE_HEADER, session.bytes(), session.foundStart(), cached);
            }
            return ServiceEntry.RESPONSE_HEADER + cached;
        }
        if (session.full())
        {
            return ServiceEntry.writeResponse(response, ClientProtocol.WINDOW_FULL, 0, 0);
        }
        ServiceEntry.writeResponse(response, ClientProtocol.OK, 0, 0);
        final int written = service.onCommand(sessionId, sequence, now, payload, offset + ServiceEntry.HEADER,
            length - ServiceEntry.HEADER, response, ServiceEntry.RESPONSE_HEADER);
        if (written < 0)
        {
            throw new IllegalStateException("service " + service.getClass().getName() + " returned a response length of " + written);
        }
        if (written > maxResponseLength)
        {
            // Applied, but the answer cannot travel: the same on every replica, so the retry says the same.
            session.record(sequence, response, ServiceEntry.RESPONSE_HEADER, written);
            session.evictNewest();
            return ServiceEntry.writeResponse(response, ClientProtocol.RESPONSE_EVICTED, 0, 0);
        }
        session.record(sequence, response, ServiceEntry.RESPONSE_HEADER, written);
        return ServiceEntry.RESPONSE_HEADER + written;
    }

    private void touch(final Session session, final long now)
    {
        session.lastActivityNs = now;
    }

    /**
     * The first entry of a new leader's term: every session gets a fresh timeout from now (as Aeron
     * Cluster does when a new leader takes over). While there was no leader no client could keep its
     * session alive, and without this the first entry after a leaderless stretch longer than the session
     * timeout expired every session, and its client with it. A function of the log alone (the terms of
     * the entries, and the term of the last one kept in snapshots), so the same on every replica.
     */
    private void newLeader(final long now)
    {
        for (final Session session : sessions.values())
        {
            session.lastActivityNs = Math.max(session.lastActivityNs, now);
        }
        nextExpiryCheckNs = Math.max(nextExpiryCheckNs, now + sessionTimeoutNs);
    }

    private void expireSessions(final long now)
    {
        expired.clear();
        long next = Long.MAX_VALUE;
        for (final Session session : sessions.values())
        {
            final long expiresAt = session.lastActivityNs + sessionTimeoutNs;
            if (expiresAt <= now)
            {
                expired.addLong(session.id);
            }
            else
            {
                next = Math.min(next, expiresAt);
            }
        }
        nextExpiryCheckNs = next;
        if (expired.isEmpty())
        {
            return;
        }
        // Map iteration order may differ between replicas (one restored from a snapshot): close in id order.
        final long[] ids = expired.toLongArray();
        Arrays.sort(ids);
        for (final long id : ids)
        {
            close(sessions.get(id), now, CloseReason.TIMEOUT);
        }
    }

    private void close(final Session session, final long now, final CloseReason reason)
    {
        sessions.remove(session.id);
        endpoints.remove(session.id);
        owners.remove(session.id);
        recentlyClosed.put(session.id, session.endpoint);
        closedOrder.addLast(session.id);
        if (closedOrder.size() > RECENTLY_CLOSED)
        {
            recentlyClosed.remove(closedOrder.pollFirst());
        }
        service.onSessionClose(session.id, now, reason);
    }

    private void fireTimers(final long now)
    {
        if (nextTimerDeadlineNs > now)
        {
            return;
        }
        while (timers.hasDue(now))
        {
            final long id = timers.pollEarliest();
            service.onTimer(id, now);
        }
        nextTimerDeadlineNs = timers.earliest();
    }

    @Override
    public void onBatchEnd(final long lastAppliedIndex, final long lastAppliedTerm)
    {
        if (lastAppliedIndex != lastApplied.index())
        {
            lastApplied = new LogId(lastAppliedTerm, lastAppliedIndex);
        }
    }

    /**
     * Answers a query by the service's {@link ClusteredService#onQuery}; called by the ingress
     * thread.
     */
    int query(final DirectBuffer query, final int offset, final int length, final MutableDirectBuffer response, final int responseOffset)
    {
        return service.onQuery(query, offset, length, response, responseOffset);
    }

    @Override
    public void buildSnapshot(final SnapshotWriter writer)
    {
        writeHost(writer, snapshotBuffer, encodeHost());
        service.onTakeSnapshot(writer);
    }

    /**
     * {@inheritDoc}
     * <p>
     * When the service captures its state ({@link ClusteredService#onCaptureSnapshot()}), the host's part (sessions,
     * their caches, timers) is copied too; otherwise nothing is captured and the snapshot is built from the live state.
     */
    @Override
    public io.ringraft.statemachine.CapturedSnapshot captureSnapshot()
    {
        final io.ringraft.statemachine.CapturedSnapshot serviceState = service.onCaptureSnapshot();
        if (serviceState == null)
        {
            return null;
        }
        final int length = encodeHost();
        final UnsafeBuffer host = new UnsafeBuffer(new byte[length]);
        host.putBytes(0, snapshotBuffer, 0, length);
        return writer ->
        {
            writeHost(writer, host, length);
            serviceState.writeTo(writer);
        };
    }

    /** The host's part is length-prefixed so that the service's part starts at a known position. */
    private static void writeHost(final SnapshotWriter writer, final DirectBuffer host, final int length)
    {
        final UnsafeBuffer prefix = new UnsafeBuffer(new byte[4]);
        prefix.putInt(0, length);
        writer.write(prefix, 0, 4);
        writer.write(host, 0, length);
    }

    /** @return the length of the host's part, encoded into {@link #snapshotBuffer} */
    private int encodeHost()
    {
        final ExpandableArrayBuffer b = snapshotBuffer;
        b.putInt(0, SNAPSHOT_MAGIC);
        b.putInt(4, SNAPSHOT_VERSION);
        b.putLong(8, clusterTimeNs);
        b.putInt(16, sessions.size());
        int cursor = 20;
        final long[] ids = new long[sessions.size()];
        int n = 0;
        for (final Session s : sessions.values())
        {
            ids[n++] = s.id;
        }
        Arrays.sort(ids);
        for (final long id : ids)
        {
            final Session s = sessions.get(id);
            final byte[] endpoint = s.endpoint.getBytes(StandardCharsets.UTF_8);
            b.checkLimit(cursor + 48 + endpoint.length + s.encodedCacheBound());
            b.putLong(cursor, s.id);
            b.putLong(cursor + 8, s.lastActivityNs);
            b.putLong(cursor + 16, s.floor);
            b.putLong(cursor + 24, s.maxSequence);
            b.putLong(cursor + 32, s.owner);
            b.putInt(cursor + 40, endpoint.length);
            b.putBytes(cursor + 44, endpoint);
            cursor += 44 + endpoint.length;
            cursor += s.encodeCache(b, cursor);
        }
        final LongArrayList pairs = new LongArrayList();
        timers.copyTo(pairs);
        b.putInt(cursor, pairs.size() / 2);
        cursor += 4;
        for (int i = 0; i < pairs.size(); i++)
        {
            b.putLong(cursor, pairs.getLong(i));
            cursor += 8;
        }
        b.checkLimit(cursor + 8);
        b.putLong(cursor, serviceTerm);
        cursor += 8;
        return cursor;
    }

    @Override
    public void installSnapshot(final SnapshotMeta meta, final SnapshotReader reader)
    {
        final UnsafeBuffer prefix = new UnsafeBuffer(new byte[4]);
        if (reader.size() < 4 || reader.read(0, prefix, 0, 4) != 4)
        {
            throw new IllegalStateException("snapshot " + meta.snapshotId() + " has no service host section");
        }
        final int hostLength = prefix.getInt(0);
        if (hostLength < 24 || 4L + hostLength > reader.size())
        {
            throw new IllegalStateException("snapshot " + meta.snapshotId() + ": host section of " + hostLength + " bytes in " +
                reader.size());
        }
        final UnsafeBuffer b = new UnsafeBuffer(new byte[hostLength]);
        int read = 0;
        while (read < hostLength)
        {
            final int n = reader.read(4 + read, b, read, hostLength - read);
            if (n <= 0)
            {
                throw new IllegalStateException("snapshot " + meta.snapshotId() + " ended inside the host section");
            }
            read += n;
        }
        final int version = b.getInt(4);
        if (b.getInt(0) != SNAPSHOT_MAGIC || version < 1 || version > SNAPSHOT_VERSION)
        {
            throw new IllegalStateException("snapshot " + meta.snapshotId() + " is not a service host snapshot of version 1.." +
                SNAPSHOT_VERSION);
        }
        sessions.clear();
        endpoints.clear();
        owners.clear();
        timers.clear();
        clusterTimeNs = b.getLong(8);
        final int sessionCount = b.getInt(16);
        int cursor = 20;
        long next = Long.MAX_VALUE;
        for (int i = 0; i < sessionCount; i++)
        {
            final long id = b.getLong(cursor);
            final long lastActivity = b.getLong(cursor + 8);
            final long floor = b.getLong(cursor + 16);
            final long maxSequence = b.getLong(cursor + 24);
            // Version 1 had no owners: its sessions were all opened unsigned.
            final long owner = version == 1 ? 0 : b.getLong(cursor + 32);
            final int at = version == 1 ? cursor + 32 : cursor + 40;
            final int endpointLength = b.getInt(at);
            final String endpoint = b.getStringWithoutLengthUtf8(at + 4, endpointLength);
            cursor = at + 4 + endpointLength;
            final Session s = new Session(id, endpoint, owner, lastActivity, sessionWindow, sessionCacheBytes);
            s.floor = floor;
            cursor += s.decodeCache(b, cursor);
            s.maxSequence = maxSequence;
            sessions.put(id, s);
            if (owner != 0)
            {
                owners.put(id, owner);
            }
            endpoints.put(id, endpoint);
            next = Math.min(next, lastActivity + sessionTimeoutNs);
        }
        nextExpiryCheckNs = next;
        final int timerCount = b.getInt(cursor);
        cursor += 4;
        for (int i = 0; i < timerCount; i++)
        {
            timers.schedule(b.getLong(cursor), b.getLong(cursor + 8));
            cursor += 16;
        }
        // Version 1 did not keep it: the term of the snapshot's last entry is the nearest there is.
        serviceTerm = version >= 2 ? b.getLong(cursor) : meta.lastIncluded().term();
        nextTimerDeadlineNs = timers.earliest();
        service.onLoadSnapshot(new OffsetSnapshotReader(reader, 4L + hostLength));
        lastApplied = meta.lastIncluded();
    }
}
