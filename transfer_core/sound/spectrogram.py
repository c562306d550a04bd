"""Log-mel spectrograms: how loud each band of pitches is at each moment, on the mel scale (bands as
wide as a listener hears them apart), in decibels. The mel filter bank is librosa's; the short-time
Fourier transform is torch's, so a whole batch is transformed at once, on the run's device."""

from functools import lru_cache

import torch

from transfer_core.sound.clips import SAMPLE_RATE

N_FFT = 512  # 32 ms windows
HOP = 250  # a column every 15.6 ms: 65 columns a second, cut to 64
N_MELS = 64
FRAMES = 64
TOP_DB = 80.0  # quieter than the clip's loudest point by more than this is drawn as silence


@lru_cache(maxsize=1)
def mel_filters() -> torch.Tensor:
    """(N_MELS, N_FFT // 2 + 1): each row one mel band's weights over the Fourier bins."""
    import librosa

    return torch.from_numpy(librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=20, fmax=8000))


def log_mel(waves: torch.Tensor) -> torch.Tensor:
    """float (B, S) waveforms in [-1, 1] -> (B, N_MELS, FRAMES) in [0, 1]: 0 is TOP_DB below the
    clip's loudest point or quieter, 1 the loudest. Row 0 is the lowest band."""
    window = torch.hann_window(N_FFT, device=waves.device)
    spectrum = torch.stft(waves.float(), N_FFT, HOP, window=window, return_complex=True).abs() ** 2  # (B, F, T)
    mel = mel_filters().to(waves.device) @ spectrum  # (B, N_MELS, T)
    db = 10 * torch.log10(mel.clamp_min(1e-10))
    db = db - db.amax(dim=(1, 2), keepdim=True)
    return ((db.clamp_min(-TOP_DB) + TOP_DB) / TOP_DB)[:, :, :FRAMES]


def spectrogram_images(clips: torch.Tensor, chunk: int = 256) -> torch.Tensor:
    """int16 clips (N, S) -> uint8 (N, N_MELS, FRAMES) pictures, low pitches at the bottom, time to
    the right: what an image backbone sees of a sound."""
    out = []
    for start in range(0, len(clips), chunk):
        waves = clips[start : start + chunk].float() / 32768
        out.append((log_mel(waves).flip(1) * 255).round().to(torch.uint8))
    return torch.cat(out) if out else torch.empty((0, N_MELS, FRAMES), dtype=torch.uint8)
