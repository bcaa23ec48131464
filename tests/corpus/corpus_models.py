"""The architectures of the opset corpus (tests/corpus/make_corpus.py exports them): each a small real form that
converters write and quantizers must handle, with seeded random weights."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def init_weights(module, gen):
    """Seeded random weights and BatchNormalization statistics (running mean/var far from 0/1)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
        elif isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.copy_(1.0 + 0.2 * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
                m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=gen))


# --- MobileNetV3-style: hard-swish, squeeze-excitation with hard-sigmoid, residual, depthwise convolutions.
class SqueezeExcite(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, channels // 4, 1)
        self.expand = nn.Conv2d(channels // 4, channels, 1)

    def forward(self, x):
        s = self.pool(x)
        s = F.relu(self.reduce(s))
        s = F.hardsigmoid(self.expand(s))
        return x * s


class InvertedResidual(nn.Module):
    def __init__(self, cin, expanded, cout, kernel, stride, se, act):
        super().__init__()
        self.residual = stride == 1 and cin == cout
        layers = [nn.Conv2d(cin, expanded, 1, bias=False), nn.BatchNorm2d(expanded), act(),
                  nn.Conv2d(expanded, expanded, kernel, stride, kernel // 2, groups=expanded, bias=False),
                  nn.BatchNorm2d(expanded), act()]
        if se:
            layers.append(SqueezeExcite(expanded))
        layers += [nn.Conv2d(expanded, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        y = self.block(x)
        return x + y if self.residual else y


class MobileNetV3Like(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.Hardswish())
        self.blocks = nn.Sequential(
            InvertedResidual(16, 16, 16, 3, 2, True, nn.ReLU),
            InvertedResidual(16, 48, 24, 3, 1, False, nn.ReLU),
            InvertedResidual(24, 64, 24, 5, 1, True, nn.Hardswish),
            InvertedResidual(24, 72, 32, 5, 2, True, nn.Hardswish))
        self.last = nn.Sequential(nn.Conv2d(32, 96, 1, bias=False), nn.BatchNorm2d(96), nn.Hardswish())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Linear(96, 64), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(64, 10))

    def forward(self, x):
        x = self.last(self.blocks(self.stem(x)))
        return self.head(torch.flatten(self.pool(x), 1))


# --- Upsampling: nearest (Upsample / Resize) and bilinear interpolation between convolutions.
class UpsampleNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, 1, 1),
                                 nn.ReLU(), nn.MaxPool2d(2))
        self.up1 = nn.Upsample(scale_factor=2, mode="nearest")
        self.mid = nn.Sequential(nn.Conv2d(16, 8, 3, 1, 1), nn.ReLU())
        self.out = nn.Conv2d(8, 4, 3, 1, 1)

    def forward(self, x):
        x = self.mid(self.up1(self.enc(x)))
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.out(x)


# --- Softmax and LogSoftmax on non-last axes: over channels of a 4-D map, and over the query axis of a 3-D
# attention matrix.
class SoftmaxAxesNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 2, 1)
        self.q = nn.Conv2d(8, 8, 1)
        self.k = nn.Conv2d(8, 8, 1)
        self.proj = nn.Conv2d(8, 6, 1)

    def forward(self, x):
        x = F.relu(self.conv(x))
        gate = torch.softmax(x, dim=1)          # channel softmax on [N, C, H, W]
        x = x * gate
        n, c, h, w = x.shape
        q = self.q(x).reshape(n, c, h * w)
        k = self.k(x).reshape(n, c, h * w)
        attn = torch.softmax(torch.matmul(q.transpose(1, 2), k), dim=1)  # [N, HW, HW], over the queries
        y = torch.matmul(x.reshape(n, c, h * w), attn).reshape(n, c, h, w)
        return torch.log_softmax(self.proj(y), dim=1)


# --- ConvTranspose head with BatchNormalization after each transposed convolution (torch folds BN into Conv
# when exporting, never into ConvTranspose, so these BN nodes reach the file).
class ConvTransposeHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 24, 3, 2, 1), nn.ReLU())
        self.dec = nn.Sequential(nn.ConvTranspose2d(24, 16, 4, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
                                 nn.ConvTranspose2d(16, 8, 2, 2), nn.BatchNorm2d(8), nn.ReLU())
        self.out = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        return self.out(self.dec(self.enc(x)))


# name -> (class, input shape of one sample, dynamic batch?)
MODELS = {
    "mobilenetv3": (MobileNetV3Like, (1, 3, 32, 32), True),
    "upsample": (UpsampleNet, (1, 3, 16, 16), False),
    "softmax_axes": (SoftmaxAxesNet, (1, 3, 16, 16), True),
    "convtranspose_head": (ConvTransposeHead, (1, 3, 16, 16), False),
}
