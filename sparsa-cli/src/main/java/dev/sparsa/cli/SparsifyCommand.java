package dev.sparsa.cli;

import dev.sparsa.SparsaException;
import dev.sparsa.eval.EosToken;
import dev.sparsa.eval.EvalResult;
import dev.sparsa.eval.EvalWindows;
import dev.sparsa.eval.Evaluator;
import dev.sparsa.eval.TokenStream;
import dev.sparsa.io.ModelFiles;
import dev.sparsa.io.tokenizer.Tokenizer;
import dev.sparsa.spec.ModelConfig;
import dev.sparsa.model.DenseFfn;
import dev.sparsa.model.llama.LlamaModel;
import dev.sparsa.model.llama.LlamaWeights;
import dev.sparsa.tensor.Parallel;
import dev.sparsa.train.HfExport;
import dev.sparsa.train.LlamaParams;
import dev.sparsa.train.Method;
import dev.sparsa.train.method.Methods;
import dev.sparsa.train.Schedule;
import dev.sparsa.train.TrainData;
import dev.sparsa.train.Trainer;
import dev.sparsa.train.method.Lte;
import dev.sparsa.train.method.ProSparse;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code sparsa sparsify}: turn a Llama-family model into an activation-sparse one by training. */
@Command(name = "sparsify", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Induce activation sparsity in a Llama-family model by training, and save the result as a "
                + "Hugging Face folder.",
                "Methods: prosparse (ReLU substitution, L1 on the FFN activations with a sine-staged λ, then FATReLU "
                        + "threshold shifting), relu (the plain swap, the control), relu2 (ReLU²), relufy (ReLU Strikes "
                        + "Back: the swap, then also ReLU after the norms), drelu (ReLU on gate and up, TurboSparse), "
                        + "lte (Learn To be Efficient: experts of --expert-size neurons by balanced k-means, sigmoid "
                        + "routers trained with the efficiency loss --eta for --stage1-steps, then hard expert "
                        + "selection for --stage2-steps; the routers are saved beside the weights, --sparse lte runs "
                        + "them).",
                "--distill ALPHA adds self-distillation from the starting model: loss = (1-α)·CE + α·KL(teacher || "
                        + "student) + λ·L1."})
public final class SparsifyCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--method", required = true, paramLabel = "M",
            description = "prosparse, relu, relu2, relufy, drelu or lte.")
    String method;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "The starting model: a Hugging Face folder (config.json, model.safetensors, tokenizer.json).")
    Path model;

    @Mixin
    TrainOptions t;

    @Option(names = "--steps", paramLabel = "N",
            description = "Optimizer steps (prosparse: stages x --stage-steps, lte: --stage1-steps + --stage2-steps, "
                    + "do not give; others: default 300).")
    Integer steps;

    @Option(names = "--stage-steps", defaultValue = "100", paramLabel = "S",
            description = "prosparse: steps per λ stage (default ${DEFAULT-VALUE}).")
    int stageSteps;

    @Option(names = "--lambdas", defaultValue = "0.35,1.75,3.5", split = ",", paramLabel = "L1,L2,...",
            description = "prosparse: λ at the end of each stage, one or more numbers >= 0, one stage each "
                    + "(default ${DEFAULT-VALUE}).")
    float[] lambdas;

    @Option(names = "--fatrelu-threshold", paramLabel = "T|auto",
            description = "prosparse: FATReLU threshold T, or auto: the largest T of a grid within --tolerance "
                    + "(default auto).")
    String fatrelu;

    @Option(names = "--tolerance", defaultValue = "0.01", paramLabel = "F",
            description = "prosparse auto threshold: largest relative bits/byte rise accepted (default "
                    + "${DEFAULT-VALUE} = 1 percent).")
    double tolerance;

    @Option(names = "--expert-size", paramLabel = "S",
            description = "lte: neurons per expert, must divide the FFN width (default 32, the paper's).")
    Integer expertSize;

    @Option(names = "--eta", paramLabel = "E",
            description = "lte: efficiency loss coefficient η >= 0 (default 2).")
    Float eta;

    @Option(names = "--stage1-steps", paramLabel = "N",
            description = "lte: stage 1 steps, routers and model with soft scores and the efficiency loss (default "
                    + "150).")
    Integer stage1;

    @Option(names = "--stage2-steps", paramLabel = "N",
            description = "lte: stage 2 steps, hard selection at τ = 0.5, routers fixed, model fine-tuned (default "
                    + "150).")
    Integer stage2;

    @Option(names = "--separability", paramLabel = "C",
            description = "lte: separability loss coefficient (pushes scores away from τ; default 0).")
    Float separability;

    @Option(names = "--router-lr", paramLabel = "LR",
            description = "lte: learning rate of the routers' Adam (default 0.01).")
    Float routerLr;

    @Option(names = "--distill", defaultValue = "0", paramLabel = "ALPHA",
            description = "Self-distillation weight α in [0, 1] from the starting model (default ${DEFAULT-VALUE}).")
    float distill;

    @Option(names = "--schedule", defaultValue = "constant", paramLabel = "S",
            description = "Learning-rate schedule after warm-up: constant or cosine (default ${DEFAULT-VALUE}).")
    String schedule;

    @Override
    public Integer call() throws Exception {
        // Everything that can be refused is refused before anything is written to --out.
        t.check();
        Method m = method();
        Schedule.Kind sk = Schedule.Kind.of(schedule);
        // (Integer throughout: a mixed Integer/int conditional would unbox prosparse's null --steps)
        Integer stepsAsked = m instanceof ProSparse || m instanceof Lte ? steps : steps != null ? steps
                : Integer.valueOf(300);
        Trainer.Options o = t.trainer(stepsAsked, sk, distill);
        m.steps(o.steps());
        Trainer.checkOut(t.out, t.resume, t.checkpointEvery);
        try (ModelFiles files = ModelFiles.open(model); Parallel par = new Parallel(t.threads());
             Arena arena = Arena.ofShared()) {
            ModelConfig cfg = files.config();
            if (!cfg.isDecoder()) {
                throw new SparsaException.UnsupportedException(model + ": sparsify trains Llama-family decoders "
                        + "(llama, mistral, qwen2); this is " + cfg.architecture());
            }
            if (files.format().equals("gguf")) {
                throw new SparsaException.UnsupportedException(model + ": train from the Hugging Face safetensors "
                        + "folder, not a GGUF file (quantized, q/k rows in llama.cpp's order)");
            }
            if (cfg.maxPositions() > 0 && t.seq > cfg.maxPositions()) {
                throw new SparsaException.UsageException("--seq " + t.seq + " exceeds the model's max positions "
                        + cfg.maxPositions());
            }
            if (m instanceof Lte l && cfg.intermediateSize() % l.expertSize() != 0) {
                throw new SparsaException.UsageException("--expert-size " + l.expertSize() + " must divide the "
                        + "model's FFN width " + cfg.intermediateSize());
            }
            Tokenizer tok = GenerateCommand.findTokenizer(files, null);
            if (tok == null) {
                throw new SparsaException.UsageException(model + ": no tokenizer.json beside the model");
            }
            EosToken eos = EosToken.resolve(null, cfg, false, tok, model);
            TokenStream train = TokenStream.of(t.trainCorpus(), tok, eos.id());
            TrainData data = new TrainData(train.name(), train.ids(), t.seq, t.seed);
            EvalWindows val = t.validation(tok, eos.id());
            if (m instanceof ProSparse && (fatrelu == null || "auto".equals(fatrelu))) {
                if (val == null) {
                    throw new SparsaException.UsageException("--fatrelu-threshold auto needs validation text "
                            + "(--val-text FILE), or give a threshold");
                }
            }
            t.prepareOut();
            LlamaWeights start = LlamaWeights.load(cfg, files.weights());
            LlamaParams p = LlamaParams.copyOf(start, cfg, arena);
            EvalResult before = null;
            if (val != null && !t.resume) {
                System.err.println("sparsa: validating the starting model ...");
                before = new Evaluator(LlamaModel.of(start, DenseFfn::new), par).evaluate(val);
                System.err.printf(Locale.ROOT, "sparsa: starting model: bits/byte %.4f, zero sparsity %.4f%n",
                        before.bitsPerByte(), before.sparsity());
            }
            Trainer.Result r;
            try (TrainOptions.Log log = t.log("sparsify " + m.name())) {
                r = new Trainer(p, m, o, data, val, distill > 0 ? start : null, t.out, log).run(par);
                log.finish();
            }
            HfExport.write(t.out, p.withConfig(r.config()), r.config(), t.outputDType(),
                    HfExport.TOKENIZER_FILES.stream().map(n -> model.resolve(n)).toList());
            if (m instanceof Lte l) {
                l.routers().write(t.out);                           // beside the weights: --sparse lte reads them
            }
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("command", "sparsify");
            s.put("method", m.name());
            s.put("model", model.toString());
            s.put("corpus", train.name());
            s.put("steps", r.steps());
            s.put("distill", distill);
            s.put("hiddenAct", r.config().hiddenAct());
            s.put("fatreluThreshold", r.config().fatreluThreshold());
            s.put("methodSummary", r.method());
            if (m instanceof Lte l) {
                s.put("routers", Map.of("file", dev.sparsa.model.LteRouters.FILE, "expertSize", l.expertSize(),
                        "experts", r.config().intermediateSize() / l.expertSize(), "tau", l.tau()));
            }
            if (before != null) {
                s.put("start", Map.of("bitsPerByte", before.bitsPerByte(), "sparsity", before.sparsity()));
            }
            if (r.finalValidation() != null) {
                EvalResult f = r.finalValidation();
                s.put("final", Map.of("bitsPerByte", f.bitsPerByte(), "ce", f.ce(), "sparsity", f.sparsity(),
                        "sparsityPerLayer", f.sparsityPerLayer()));
            }
            s.put("validations", r.validations());
            s.put("seconds", r.seconds());
            TrainOptions.writeSummary(t.out, s);
            PrintSummary.print(spec.commandLine().getOut(), t.out, r, before);
        }
        return 0;
    }

    private Method method() {
        boolean lte = method.equals("lte");
        for (Object[] o : new Object[][] {{"--expert-size", expertSize}, {"--eta", eta},
                {"--stage1-steps", stage1}, {"--stage2-steps", stage2}, {"--separability", separability},
                {"--router-lr", routerLr}}) {
            if (!lte && o[1] != null) {
                throw new SparsaException.UsageException(o[0] + " applies to lte only (not " + method + ")");
            }
        }
        if (lte) {
            if (fatrelu != null) {
                throw new SparsaException.UsageException("--fatrelu-threshold applies to prosparse only (lte selects "
                        + "experts by its routers)");
            }
            int s1 = stage1 == null ? 150 : stage1;
            int s2 = stage2 == null ? 150 : stage2;
            if (s1 < 0 || s2 < 0) {
                throw new SparsaException.UsageException((s1 < 0 ? "--stage1-steps" : "--stage2-steps")
                        + " must be >= 0, got " + (s1 < 0 ? s1 : s2));
            }
            if (s1 + s2 < 1) {
                throw new SparsaException.UsageException("--stage1-steps + --stage2-steps must be >= 1, got 0");
            }
            int es = expertSize == null ? 32 : expertSize;
            if (es < 1) {
                throw new SparsaException.UsageException("--expert-size must be >= 1, got " + es);
            }
            return new Lte(es, s1, s2, eta == null ? 2f : eta, separability == null ? 0f : separability, 0.5f,
                    routerLr == null ? 0.01f : routerLr, t.seed);
        }
        if (method.equals("prosparse")) {
            Float th = null;
            if (fatrelu != null && !fatrelu.equals("auto")) {
                try {
                    th = Float.parseFloat(fatrelu);
                } catch (NumberFormatException e) {
                    throw new SparsaException.UsageException("--fatrelu-threshold: '" + fatrelu
                            + "' is not a number or auto");
                }
            }
            return new ProSparse(stageSteps, lambdas, th, tolerance);
        }
        if (!Methods.NAMES.contains(method)) {
            throw Methods.unknown(method);
        }
        if (fatrelu != null) {
            throw new SparsaException.UsageException("--fatrelu-threshold applies to prosparse only (" + method
                    + " has no threshold shifting)");
        }
        return Methods.simple(method);
    }

    /** The closing lines on stdout. */
    static final class PrintSummary {
        static void print(java.io.PrintWriter w, Path out, Trainer.Result r, EvalResult before) {
            List<String> lines = new ArrayList<>();
            lines.add("model      " + out + " (" + r.config().hiddenAct()
                    + (r.config().fatreluThreshold() > 0 ? ", T = " + r.config().fatreluThreshold() : "") + ")");
            lines.add(String.format(Locale.ROOT, "steps      %d in %.0f s", r.steps(), r.seconds()));
            if (before != null) {
                lines.add(String.format(Locale.ROOT, "start      bits/byte %.4f, zero sparsity %.4f",
                        before.bitsPerByte(), before.sparsity()));
            }
            if (r.finalValidation() != null) {
                EvalResult f = r.finalValidation();
                lines.add(String.format(Locale.ROOT, "final      bits/byte %.4f%s, zero sparsity %.4f", f.bitsPerByte(),
                        before == null ? "" : String.format(Locale.ROOT, " (%+.2f%%)",
                                100 * (f.bitsPerByte() / before.bitsPerByte() - 1)), f.sparsity()));
            }
            lines.forEach(w::println);
            w.flush();
        }
    }
}
