package dev.sparsa.profile;

import dev.sparsa.SparsaException;

/**
 * Knobs of one profile run.
 *
 * @param tokens            content-token budget of the measuring pass
 * @param calibrationTokens positions per layer whose CETT scans calibrate ε_ℓ(c) (the first windows)
 * @param cettTargets       CETT targets c reported (per-token search and per-layer ε)
 * @param activeCett        c whose per-layer ε defines "active" for non-ReLU models
 * @param qualityPercents   p of PPL-p% (cosine-p% for encoders)
 * @param evalTokens        content-token budget of each PPL-p% / predictor-quality evaluation
 * @param bisectionSteps    bisection steps per p after bracketing on a fixed grid of c
 * @param predictorRank     r of the low-rank predictors
 * @param predictorEpochs   training epochs
 * @param predictorTokens   tokens per half (train / held-out) per layer
 * @param seed              seed of every random choice
 * @param cettTokens        per-token CETT searches per layer at most (every s-th position beyond that)
 */
public record ProfileOptions(long tokens, int calibrationTokens, double[] cettTargets, double activeCett,
                             double[] qualityPercents, int evalTokens, int bisectionSteps, int predictorRank,
                             int predictorEpochs, int predictorTokens, long seed, int cettTokens) {

    public ProfileOptions {
        if (tokens < 1) {
            throw new SparsaException.UsageException("--tokens must be at least 1, got " + tokens);
        }
        if (calibrationTokens < 1) {
            throw new SparsaException.UsageException("calibration tokens must be at least 1");
        }
        for (double c : cettTargets) {
            if (!(c >= 0 && c < 1)) {
                throw new SparsaException.UsageException("CETT target must be in [0, 1), got " + c);
            }
        }
        for (double p : qualityPercents) {
            if (!(p > 0 && p < 100)) {
                throw new SparsaException.UsageException("quality percent must be in (0, 100), got " + p);
            }
        }
        if (cettTokens < 1) {
            throw new SparsaException.UsageException("CETT tokens must be at least 1, got " + cettTokens);
        }
        if (evalTokens < 1 || bisectionSteps < 0 || predictorRank < 1 || predictorEpochs < 0
                || predictorTokens < 1) {
            throw new SparsaException.UsageException("bad profile options: eval tokens, predictor rank and tokens "
                    + "must be positive; bisection steps and epochs non-negative");
        }
    }

    public static ProfileOptions defaults() {
        return new ProfileOptions(20_000, 512, new double[]{0.1, 0.2, 0.3}, 0.2, new double[]{1, 5, 10}, 512, 4,
                32, 6, 1024, 1234, 4096);
    }

    public ProfileOptions withTokens(long n) {
        return new ProfileOptions(n, calibrationTokens, cettTargets, activeCett, qualityPercents, evalTokens,
                bisectionSteps, predictorRank, predictorEpochs, predictorTokens, seed, cettTokens);
    }

    public ProfileOptions withEvalTokens(int n) {
        return new ProfileOptions(tokens, calibrationTokens, cettTargets, activeCett, qualityPercents, n,
                bisectionSteps, predictorRank, predictorEpochs, predictorTokens, seed, cettTokens);
    }

    public ProfileOptions withSeed(long s) {
        return new ProfileOptions(tokens, calibrationTokens, cettTargets, activeCett, qualityPercents, evalTokens,
                bisectionSteps, predictorRank, predictorEpochs, predictorTokens, s, cettTokens);
    }

    public ProfileOptions withCalibrationTokens(int n) {
        return new ProfileOptions(tokens, n, cettTargets, activeCett, qualityPercents, evalTokens,
                bisectionSteps, predictorRank, predictorEpochs, predictorTokens, seed, cettTokens);
    }

    public ProfileOptions withPredictor(int rank, int epochs, int tokensPerHalf) {
        return new ProfileOptions(tokens, calibrationTokens, cettTargets, activeCett, qualityPercents, evalTokens,
                bisectionSteps, rank, epochs, tokensPerHalf, seed, cettTokens);
    }

    public ProfileOptions withBisectionSteps(int n) {
        return new ProfileOptions(tokens, calibrationTokens, cettTargets, activeCett, qualityPercents, evalTokens,
                n, predictorRank, predictorEpochs, predictorTokens, seed, cettTokens);
    }

    public ProfileOptions withCettTokens(int n) {
        return new ProfileOptions(tokens, calibrationTokens, cettTargets, activeCett, qualityPercents, evalTokens,
                bisectionSteps, predictorRank, predictorEpochs, predictorTokens, seed, n);
    }
}
