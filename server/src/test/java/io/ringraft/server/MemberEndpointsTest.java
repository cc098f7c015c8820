package io.ringraft.server;

import io.ringraft.Membership;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The config seeds a new cluster's membership; afterwards a config that disagrees with the log is reported. */
class MemberEndpointsTest
{
    private static NodeConfig config(final String... members)
    {
        final List<String> lines = new java.util.ArrayList<>(List.of("cluster.id = 7", "node.id = 1", "data.dir = /tmp/x-{id}"));
        lines.addAll(List.of(members));
        return NodeConfig.parse(lines, "cluster.conf", null, false);
    }

    @Test
    void theSeedCarriesEveryMembersEndpointsAndTheClientEndpointIsReadBack()
    {
        final NodeConfig c = config("member.1 = 127.0.0.1:9001 127.0.0.1:9101", "member.2 = 127.0.0.1:9002 127.0.0.1:9102");
        final Membership seed = MemberEndpoints.seed(c);
        assertEquals(Membership.of(new long[]{1, 2}, new long[0], new long[0],
            Map.of(1L, "127.0.0.1:9001 127.0.0.1:9101", 2L, "127.0.0.1:9002 127.0.0.1:9102")), seed);
        assertEquals("127.0.0.1:9102", MemberEndpoints.clientEndpoint(seed, 2));
        assertNull(MemberEndpoints.clientEndpoint(seed, 3));
        assertNull(MemberEndpoints.clientEndpoint(Membership.of(1, 2), 2), "a membership without endpoints");
        assertNull(MemberEndpoints.disagreement(c, seed), "the config agrees with the log it seeded");
    }

    @Test
    void aConfigThatDisagreesWithTheLogIsReportedInOneLine()
    {
        final NodeConfig c = config("member.1 = 127.0.0.1:9001 127.0.0.1:9101", "member.2 = 127.0.0.1:9002 127.0.0.1:9102");
        final Membership grown = MemberEndpoints.seed(c).withLearner(3, "127.0.0.1:9003 127.0.0.1:9103");
        final String members = MemberEndpoints.disagreement(c, grown);
        assertTrue(members.startsWith("cluster.conf: the config lists members [1, 2] but the log's membership is "), members);
        assertTrue(members.endsWith("following the log (the config's member list only seeds a new cluster)"), members);

        final NodeConfig moved = config("member.1 = 127.0.0.1:9001 127.0.0.1:9101", "member.2 = 127.0.0.1:9992 127.0.0.1:9102");
        final String endpoint = MemberEndpoints.disagreement(moved, MemberEndpoints.seed(c));
        assertTrue(endpoint.startsWith("cluster.conf: member.2 = 127.0.0.1:9992 127.0.0.1:9102 but the log's membership has node 2 at " +
            "127.0.0.1:9002 127.0.0.1:9102"), endpoint);
    }
}
