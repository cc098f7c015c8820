package io.ringraft.client;

/**
 * One node's view, as its client ingress reports it.
 *
 * @param nodeId        the node
 * @param role          its role's name (LEADER, FOLLOWER, CANDIDATE, LEARNER ...)
 * @param term          its term
 * @param leaderId      the leader it knows, or -1
 * @param commitIndex   its commit index
 * @param appliedIndex  its applied index
 * @param clusterTimeNs the cluster time of its last applied entry
 */
public record NodeStatus(long nodeId, String role, long term, long leaderId, long commitIndex, long appliedIndex, long clusterTimeNs)
{
    /** @return true if the node believes it leads */
    public boolean isLeader()
    {
        return "LEADER".equals(role);
    }
}
