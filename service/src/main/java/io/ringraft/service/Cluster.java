package io.ringraft.service;

/**
 * What the host offers its {@link ClusteredService}. Call it only from the service's callbacks
 * on the apply thread (never from {@link ClusteredService#onQuery}).
 */
public interface Cluster
{
    /** @return this node's id (for logging; the replicated state must not depend on it) */
    long nodeId();

    /**
     * @return the cluster time of the entry being applied: the leader's clock when it appended
     *         the entry, never less than any earlier entry's (epoch nanoseconds)
     */
    long clusterTimeNs();

    /** @return the log index of the entry being applied (the same on every replica) */
    long logIndex();

    /**
     * Schedules a timer, or moves it if {@code timerId} is scheduled already. It fires through
     * the log, once, when the cluster time reaches {@code deadlineNs}; timers are part of the
     * snapshot.
     *
     * @param timerId    the service's id for it
     * @param deadlineNs the cluster time at which it fires
     * @return false if the host holds its maximum number of timers (nothing scheduled)
     */
    boolean scheduleTimer(long timerId, long deadlineNs);

    /**
     * Cancels a timer.
     *
     * @param timerId the timer's id
     * @return true if it was scheduled
     */
    boolean cancelTimer(long timerId);

    /** @return the number of open sessions */
    int sessionCount();
}
