package io.ringraft.testkit.script;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every scenario script in {@code src/test/resources/scenarios}, on the bare engine and on the real
 * runtime, with each step's output checked against the script.
 * <p>
 * {@code -Dringraft.scenario.rewrite=true} writes each script back with the output of the bare engine
 * in place of the expected one (to write a new scenario: review the result before committing it).
 */
final class ScenarioScriptTest
{
    private static final Path DIRECTORY = Path.of("src", "test", "resources", "scenarios");

    static Stream<Arguments> scenarios() throws IOException
    {
        try (Stream<Path> files = Files.list(DIRECTORY))
        {
            final List<Path> scripts = files.filter(f -> f.toString().endsWith(".txt")).sorted().toList();
            return scripts.stream().flatMap(f -> Stream.of(Arguments.of(f.getFileName().toString(), Scenario.Mode.ENGINE),
                Arguments.of(f.getFileName().toString(), Scenario.Mode.RUNTIME)));
        }
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("scenarios")
    void runsAsScripted(final String file, final Scenario.Mode mode) throws IOException
    {
        final Path path = DIRECTORY.resolve(file);
        final Scenario scenario = Scenario.load(path);
        if (Boolean.getBoolean("ringraft.scenario.rewrite") && mode == Scenario.Mode.ENGINE)
        {
            Files.writeString(path, scenario.rewrite(mode));
            return;
        }
        scenario.check(mode);
    }

    /** The example in the testkit's README runs as it shows. */
    @Test
    void theReadmeExampleRunsAsShown() throws IOException
    {
        final String readme = Files.readString(Path.of("README.md"));
        final int section = readme.indexOf("## Scenario scripts");
        final int start = readme.indexOf("```\n", section) + 4;
        final Scenario example = Scenario.parse("README example", readme.substring(start, readme.indexOf("```", start)));
        example.check(Scenario.Mode.ENGINE);
        example.check(Scenario.Mode.RUNTIME);
    }

    /** A malformed script fails naming its line; a cluster's refusal, an unmet expectation and a failure are outputs. */
    @Test
    void malformedCommandsFailWithTheirLineAndOutcomesArePrinted()
    {
        final IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
            () -> Scenario.parse("bad", "cluster nodes=3\n\nfrobnicate 1\n").run(Scenario.Mode.ENGINE));
        assertTrue(unknown.getMessage().startsWith("bad:3: frobnicate 1: unknown command"), unknown.getMessage());
        final IllegalArgumentException notANumber = assertThrows(IllegalArgumentException.class,
            () -> Scenario.parse("bad", "cluster nodes=3\ncrash x\n").run(Scenario.Mode.ENGINE));
        assertTrue(notANumber.getMessage().startsWith("bad:2: crash x:"), notANumber.getMessage());
        final IllegalArgumentException option = assertThrows(IllegalArgumentException.class,
            () -> Scenario.parse("bad", "cluster nodes=3 prevote=maybe\n").run(Scenario.Mode.ENGINE));
        assertTrue(option.getMessage().contains("prevote must be on or off: maybe"), option.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Scenario.parse("bad", "campaign 1\n").run(Scenario.Mode.ENGINE));

        final List<String> out = Scenario.parse("outcomes", String.join("\n",
            "cluster nodes=3",
            "restart 1",
            "expect leader 1",
            "expect commit 1 >= 5",
            "crash 2",
            "status 2")).run(Scenario.Mode.ENGINE);
        assertEquals(List.of("", "error: node 1 is up", "FAILED: leader is none, expected 1",
            "FAILED: commit of node 1 is 0, expected >= 5", "", "N2 DOWN term=0 vote=0 last=0/1"), out);
        final AssertionError mismatch = assertThrows(AssertionError.class,
            () -> Scenario.parse("mismatch", "cluster nodes=3\nexpect leader 1\n").check(Scenario.Mode.ENGINE));
        assertTrue(mismatch.getMessage().contains("mismatch:2 (ENGINE): expect leader 1"), mismatch.getMessage());
    }
}
