package dev.sparsa.io;

import dev.sparsa.SparsaException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Hub ids resolved in a cache laid out as huggingface_hub writes it (models--org--name/refs, snapshots). */
class HfCacheTest {
    @TempDir
    Path tmp;

    Path repo(Path hub, String id) throws Exception {
        Path r = hub.resolve("models--" + id.replace("/", "--"));
        Files.createDirectories(r.resolve("snapshots"));
        return r;
    }

    @Test
    void hubDirFollowsHfHubCacheThenHfHomeThenHome() {
        Path home = Path.of("/home/u");
        assertThat(HfCache.hubDir(Map.of(), home)).isEqualTo(Path.of("/home/u/.cache/huggingface/hub"));
        assertThat(HfCache.hubDir(Map.of("HF_HOME", "/data/hf"), home)).isEqualTo(Path.of("/data/hf/hub"));
        assertThat(HfCache.hubDir(Map.of("HF_HOME", "/data/hf", "HF_HUB_CACHE", "/x/hub"), home))
                .isEqualTo(Path.of("/x/hub"));
    }

    @Test
    void idResolvesToTheSnapshotRefsMainNames() throws Exception {
        Path hub = tmp.resolve("hub");
        Path r = repo(hub, "TinyOrg/tiny-llama");
        Path old = Files.createDirectories(r.resolve("snapshots/aaa"));
        Path cur = Files.createDirectories(r.resolve("snapshots/bbb"));
        Files.writeString(old.resolve("config.json"), "{}");
        Files.writeString(cur.resolve("config.json"), "{}");
        Files.createDirectories(r.resolve("refs"));
        Files.writeString(r.resolve("refs/main"), "bbb\n");
        assertThat(HfCache.resolve("TinyOrg/tiny-llama", hub)).isEqualTo(cur);
        // an existing path is taken as a path, whatever the cache holds
        assertThat(HfCache.resolve(old.toString(), hub)).isEqualTo(old);
    }

    @Test
    void withoutRefsTheOnlySnapshotAndAGgufOnlyRepoItsFile() throws Exception {
        Path hub = tmp.resolve("hub");
        Path only = Files.createDirectories(repo(hub, "gpt2").resolve("snapshots/c0"));
        Files.writeString(only.resolve("config.json"), "{}");
        assertThat(HfCache.resolve("gpt2", hub)).isEqualTo(only);
        Path g = Files.createDirectories(repo(hub, "o/m-GGUF").resolve("snapshots/c1"));
        Files.writeString(g.resolve("m.Q8_0.gguf"), "");
        assertThat(HfCache.resolve("o/m-GGUF", hub)).isEqualTo(g.resolve("m.Q8_0.gguf"));
        Files.writeString(g.resolve("m.Q4_0.gguf"), "");
        assertThatThrownBy(() -> HfCache.resolve("o/m-GGUF", hub)).isInstanceOf(SparsaException.FormatException.class)
                .hasMessageEndingWith("has 2 .gguf files (m.Q4_0.gguf, m.Q8_0.gguf); pass the one to use as a path");
    }

    @Test
    void missingIdsAndBrokenCachesAreOneLineErrors() throws Exception {
        Path hub = tmp.resolve("hub");
        assertThatThrownBy(() -> HfCache.resolve("org/none", hub)).isInstanceOf(SparsaException.FormatException.class)
                .hasMessageStartingWith("org/none: no such file or directory, and no model 'org/none' in the Hugging "
                        + "Face cache " + hub);
        assertThatThrownBy(() -> HfCache.resolve("/no/such/dir", hub))
                .hasMessage("/no/such/dir: no such file or directory");
        Path r = repo(hub, "o/two");
        Files.createDirectories(r.resolve("snapshots/a"));
        Files.createDirectories(r.resolve("snapshots/b"));
        assertThatThrownBy(() -> HfCache.resolve("o/two", hub))
                .hasMessageContaining("cached model 'o/two' has no refs/main and 2 snapshots");
        Files.createDirectories(r.resolve("refs"));
        Files.writeString(r.resolve("refs/main"), "zzz");
        assertThatThrownBy(() -> HfCache.resolve("o/two", hub)).hasMessageContaining("names snapshot 'zzz'");
        Files.writeString(r.resolve("refs/main"), "a");
        assertThatThrownBy(() -> HfCache.resolve("o/two", hub))
                .hasMessageEndingWith("cached snapshot of 'o/two' has no config.json and no .gguf");
    }
}
