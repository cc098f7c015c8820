package io.ringraft.service;

import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The application's replicated service, hosted by a {@link ServiceNode}: the state machine a user
 * deploys as a cluster. The host calls every method except {@link #onQuery} from one thread (the
 * node's apply thread), in log order, identically on every replica, so the service must be
 * deterministic: it sees time only as the cluster time it is given (never a clock), schedules
 * timers through {@link Cluster}, and draws no randomness of its own.
 * <p>
 * Commands reach {@link #onCommand} exactly once per (session, sequence): the host drops
 * retries of applied commands and answers them from its response cache.
 */
public interface ClusteredService
{
    /**
     * Called once before anything else (before a snapshot is loaded and before any entry).
     *
     * @param cluster the host's view for this service: cluster time, timers
     */
    default void onStart(final Cluster cluster)
    {
    }

    /**
     * A client session opened (through the log).
     *
     * @param sessionId     its id, unique for the life of the cluster
     * @param clusterTimeNs the cluster time of the open
     */
    default void onSessionOpen(final long sessionId, final long clusterTimeNs)
    {
    }

    /**
     * A client session closed: by the client, or expired because the cluster time passed its last
     * activity by the session timeout.
     *
     * @param sessionId     its id
     * @param clusterTimeNs the cluster time of the close
     * @param reason        why
     */
    default void onSessionClose(final long sessionId, final long clusterTimeNs, final CloseReason reason)
    {
    }

    /**
     * Applies one command of a session.
     *
     * @param sessionId      the session that sent it
     * @param sequence       its sequence in the session
     * @param clusterTimeNs  the cluster time of the command (epoch nanoseconds, never decreasing)
     * @param command        the command bytes; valid during this call only
     * @param offset         where they start
     * @param length         how many
     * @param response       where to write the response for the client
     * @param responseOffset where in {@code response} to start writing
     * @return the length of the response written
     */
    int onCommand(long sessionId, long sequence, long clusterTimeNs, DirectBuffer command, int offset, int length,
        MutableDirectBuffer response, int responseOffset);

    /**
     * A timer scheduled with {@link Cluster#scheduleTimer} is due: called once, at the same log
     * position on every replica.
     *
     * @param timerId       the timer's id
     * @param clusterTimeNs the cluster time (at or after the timer's deadline)
     */
    default void onTimer(final long timerId, final long clusterTimeNs)
    {
    }

    /**
     * Answers a read without going through the log. Called on the client ingress thread,
     * concurrently with the apply thread: read only state that is safe to read from another
     * thread (volatile fields, concurrent maps, immutable snapshots). The host calls it after a
     * ReadIndex barrier for a linearizable query, at once for a local (possibly stale) one.
     *
     * @param query          the query bytes
     * @param offset         where they start
     * @param length         how many
     * @param response       where to write the answer
     * @param responseOffset where in {@code response} to start writing
     * @return the length of the answer written
     */
    default int onQuery(final DirectBuffer query, final int offset, final int length, final MutableDirectBuffer response,
        final int responseOffset)
    {
        return 0;
    }

    /**
     * Writes the service's whole state (the host writes its sessions and timers before it).
     *
     * @param writer where to write
     */
    void onTakeSnapshot(SnapshotWriter writer);

    /**
     * Captures the service's state as it is now, on the service's thread, for a snapshot written later on the
     * snapshot thread while the service goes on applying commands (see
     * {@link io.ringraft.statemachine.RaftStateMachine#captureSnapshot()}); what it writes is what
     * {@link #onTakeSnapshot} would have written now. The default captures nothing: the host then calls
     * {@link #onTakeSnapshot} and applies nothing until it returns.
     *
     * @return the captured state, or null
     */
    default io.ringraft.statemachine.CapturedSnapshot onCaptureSnapshot()
    {
        return null;
    }

    /**
     * Replaces the service's whole state with what {@link #onTakeSnapshot} wrote.
     *
     * @param reader the service's part of the snapshot, from position 0
     */
    void onLoadSnapshot(SnapshotReader reader);
}
