package io.ringraft.server;

import io.ringraft.Membership;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * A deployed member's endpoints as the membership in the log carries them: {@code "RAFT CLIENT"},
 * the Raft (Aeron) endpoint first, as the network reads it, then the client endpoint.
 * <p>
 * The member list of a node's config seeds a new cluster only (its first membership entry); once
 * the log holds a membership, that membership is authoritative and a config that disagrees with it
 * is reported, not obeyed.
 */
public final class MemberEndpoints
{
    private MemberEndpoints()
    {
    }

    /**
     * @param raftEndpoint   the member's Raft endpoint, host:port
     * @param clientEndpoint its client endpoint, host:port
     * @return the endpoint string a membership carries
     */
    public static String of(final String raftEndpoint, final String clientEndpoint)
    {
        return raftEndpoint + " " + clientEndpoint;
    }

    /**
     * @param membership a membership, or null
     * @param node       a node
     * @return the node's client endpoint in the membership, or null if it carries none
     */
    public static String clientEndpoint(final Membership membership, final long node)
    {
        final String endpoints = membership == null ? null : membership.endpoints().get(node);
        if (endpoints == null)
        {
            return null;
        }
        final String[] words = endpoints.trim().split("\\s+");
        return words.length > 1 ? words[1] : null;
    }

    /** @return the membership that a new cluster starts with: the config's members as voters, with their endpoints */
    static Membership seed(final NodeConfig config)
    {
        final Map<Long, String> endpoints = new TreeMap<>();
        config.members().forEach((id, m) -> endpoints.put(id, of(m.raftEndpoint(), m.clientEndpoint())));
        final long[] voters = config.members().keySet().stream().mapToLong(Long::longValue).toArray();
        return Membership.of(voters, new long[0], new long[0], endpoints);
    }

    /**
     * @param config the node's config
     * @param log    the membership in its log
     * @return one line saying how the config disagrees with the log, or null if it agrees
     */
    static String disagreement(final NodeConfig config, final Membership log)
    {
        final long[] configured = config.members().keySet().stream().mapToLong(Long::longValue).sorted().toArray();
        if (!Arrays.equals(configured, log.allNodes()))
        {
            return config.source() + ": the config lists members " + Arrays.toString(configured) + " but the log's membership is " + log +
                "; following the log (the config's member list only seeds a new cluster)";
        }
        for (final NodeConfig.Member m : config.members().values())
        {
            final String inLog = log.endpoints().get(m.id());
            if (inLog != null && !inLog.equals(of(m.raftEndpoint(), m.clientEndpoint())))
            {
                return config.source() + ": member." + m.id() + " = " + m.raftEndpoint() + " " + m.clientEndpoint() +
                    " but the log's membership has node " + m.id() + " at " + inLog +
                    "; following the log (the config's member list only seeds a new cluster)";
            }
        }
        return null;
    }
}
