"""The hints, in steps: `python -m exercises hint NAME` shows the next one each time.

Each exercise's hints go from the idea to the code: first what the function must
achieve and why, with the shape it produces, in words only; then the approach
(which operation, what to think about); the exact code last. Try to write the
body after each step before asking for the next. Every step is in English, then
in Vietnamese (terms as in docs/glossary.md).

Mỗi gợi ý đi từ ý tưởng tới mã: trước hết hàm phải làm gì và vì sao (bằng lời,
kèm hình dạng đầu ra), rồi cách làm, cuối cùng mới là dòng code. Sau mỗi bước,
hãy thử tự viết trước khi xem bước tiếp theo.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Hint:
    stage: str  # "the idea", "the approach" or "the code": how much it gives away
    en: str
    vi: str
    code: tuple[str, ...] = ()  # printed as is, one line each, so a pattern is never wrapped in two


def idea(en, vi):
    return Hint("the idea", en, vi)


def approach(en, vi):
    return Hint("the approach", en, vi)


def code(en, vi, *lines):
    return Hint("the code", en, vi, lines)


HINTS = {
    "patch_embed": [
        idea("A transformer reads a sequence of vectors, not a grid. Cut the image into non-overlapping p x p "
             "squares and lay each one out flat: (B, 3, H, W) becomes (B, N, p*p*3), N = (H/p) x (W/p), the "
             "squares read row by row like a page of text. PatchEmbed does the same and projects every square "
             "to D numbers: (B, N, D).",
             "Transformer đọc một dãy véc-tơ, không đọc lưới ảnh. Cắt ảnh thành các mảnh ảnh (patch) p x p không "
             "chồng nhau và trải phẳng từng mảnh: (B, 3, H, W) thành (B, N, p*p*3), đọc các mảnh theo từng hàng "
             "như đọc một trang chữ. PatchEmbed làm y như vậy rồi chiếu mỗi mảnh thành D số: (B, N, D)."),
        approach("No number changes, they only move: a reshape. Name the axes: H is h groups of ph pixels, W is "
                 "w groups of pw. Which axes make the token's index (its place in the grid), which make the "
                 "numbers inside one token, and in which order, so that the channel changes fastest? In "
                 "PatchEmbed the given convolution already cuts and projects: it gives a (B, D, H/p, W/p) grid, "
                 "and what is left is to read that grid as a sequence, row by row.",
                 "Không số nào thay đổi, chỉ đổi chỗ: đây là đổi hình dạng. Đặt tên các trục: H là h nhóm ph "
                 "pixel, W là w nhóm pw. Trục nào tạo chỉ số của token (vị trí trên lưới), trục nào tạo các số "
                 "bên trong một token, theo thứ tự nào để kênh màu thay đổi nhanh nhất? Trong PatchEmbed, phép "
                 "tích chập đã cắt và chiếu sẵn, ra lưới (B, D, H/p, W/p); chỉ còn đọc lưới đó thành một dãy."),
        code("One einops pattern each; the left side says how the tensor is cut, the right side how it is laid "
             "out again.",
             "Mẫu einops là hợp đồng về hình dạng: vế trái là cách cắt, vế phải là cách xếp lại; (h w) đọc theo "
             "hàng, c đứng cuối nên thay đổi nhanh nhất.",
             "patchify:  return rearrange(images, 'b c (h ph) (w pw) -> b (h w) (ph pw c)', ph=p, pw=p)",
             "forward:   return rearrange(self.proj(images), 'b d h w -> b (h w) d')"),
    ],
    "attention": [
        idea("Every token's output is a weighted average of the values of all the tokens. The weight token i "
             "gives token j says how well i's query matches j's key, and the weights of one token sum to 1. "
             "Each of the h heads does this on its own share of d = D/h numbers; the heads' results are put "
             "back side by side. (B, N, D) in, (B, N, D) out; the weights of one head are an N x N table.",
             "Đầu ra của mỗi token là trung bình có trọng số của các value của mọi token. Trọng số token i dành "
             "cho token j cho biết query của i khớp với key của j đến đâu, và các trọng số của một token cộng "
             "lại bằng 1. Mỗi đầu trong h đầu (chú ý đa đầu) làm việc này trên phần d = D/h số của riêng nó, "
             "rồi kết quả các đầu được đặt lại cạnh nhau. Vào (B, N, D), ra (B, N, D); trọng số của một đầu "
             "là một bảng N x N."),
        approach("One Linear gives the queries, keys and values of every head at once: 3D numbers per token, "
                 "first all of q, then all of k, then all of v, each of them h heads of d numbers side by side. "
                 "Split them so that q, k and v are each (B, h, N, d): the heads become a batch axis, and "
                 "everything after works on all heads at once.",
                 "Một lớp Linear cho query, key, value của mọi đầu cùng lúc: 3D số mỗi token, trước hết toàn bộ "
                 "q, rồi k, rồi v, mỗi phần gồm h đầu d số đặt cạnh nhau. Tách ra để q, k, v mỗi cái có hình "
                 "(B, h, N, d): các đầu thành một trục lô, và mọi bước sau làm trên tất cả các đầu cùng lúc."),
        approach("The match of query i with key j is their dot product: one matrix product over d gives all "
                 "N x N scores of a head. Divide them by the square root of d: the d of one head, or of the "
                 "model? Then turn each query's row of scores into weights that sum to 1 (over which axis?), "
                 "average the values with them, put the heads side by side again and finish with self.proj.",
                 "Độ khớp giữa query i và key j là tích vô hướng của chúng: một phép nhân ma trận theo d cho cả "
                 "N x N điểm của một đầu. Chia cho căn bậc hai của d: d của một đầu hay của cả mô hình? Rồi biến "
                 "mỗi hàng điểm của một query thành trọng số có tổng bằng 1 (theo trục nào?), lấy trung bình "
                 "các value theo trọng số đó, đặt các đầu cạnh nhau và kết thúc bằng self.proj."),
        code("Written out; d is the width of ONE head, and the softmax runs over the keys (the last axis), so "
             "each query's weights sum to 1.",
             "d là độ rộng của MỘT đầu; softmax chạy theo các key (trục cuối) để trọng số của mỗi query có tổng "
             "bằng 1; (h d) đặt các đầu cạnh nhau đúng thứ tự lúc tách.",
             "q, k, v = rearrange(self.qkv(x), 'b n (three h d) -> three b h n d', three=3, h=self.heads)",
             "d = q.shape[-1]",
             "weights = (q @ k.transpose(-2, -1) / d**0.5).softmax(dim=-1)   # (B, h, N, N)",
             "out = rearrange(weights @ v, 'b h n d -> b n (h d)')",
             "return self.proj(out)"),
    ],
    "block": [
        idea("A block lets the tokens exchange information (attention), then lets every token work on its own "
             "(the MLP). Each of the two steps only ADDS a correction to the running vector x, the residual "
             "stream, so that a stack of 12 blocks starts close to doing nothing and still trains. The shape "
             "never changes: (B, N, D) in, (B, N, D) out.",
             "Một khối Transformer cho các token trao đổi thông tin (cơ chế chú ý), rồi cho từng token tự xử lý "
             "(MLP). Mỗi bước chỉ CỘNG thêm một phần hiệu chỉnh vào véc-tơ x đang chạy (kết nối tắt), nên "
             "chồng 12 khối thì lúc đầu gần như không làm gì và vẫn học được. Hình dạng không đổi: vào "
             "(B, N, D), ra (B, N, D)."),
        approach("Pre-norm: the LayerNorm is applied to what goes INTO a branch, never to x itself, and the "
                 "branch's output is added to the x that was not normalised. Three things to get right: each "
                 "branch has its own norm (norm1 with attention, norm2 with the MLP); the MLP line reads the x "
                 "that the attention line has just updated; both lines keep their residual.",
                 "Pre-norm: chuẩn hóa tầng (LayerNorm) áp dụng lên đầu vào của một nhánh, không bao giờ lên chính "
                 "x, và đầu ra của nhánh được cộng vào x chưa chuẩn hóa. Ba điều cần đúng: mỗi nhánh có norm "
                 "riêng (norm1 với cơ chế chú ý, norm2 với MLP); dòng MLP đọc x mà dòng chú ý vừa cập nhật; cả "
                 "hai dòng giữ kết nối tắt."),
        code("Two lines, each x = x + branch(norm(x)), one after the other.",
             "Hai dòng, mỗi dòng x = x + nhánh(norm(x)), dòng sau dùng x mà dòng trước vừa cập nhật.",
             "x = x + self.attn(self.norm1(x))",
             "x = x + self.mlp(self.norm2(x))",
             "return x"),
    ],
    "random_masking": [
        idea("Keep a random subset of the patches of every image, N x (1 - mask_ratio) of them rounded down, "
             "each image its own, all subsets equally likely; the encoder never sees the rest. Return the kept "
             "tokens (B, keep, D), a bool mask (B, N) in the patches' own order with True = hidden, and "
             "ids_restore (B, N), the order that puts the tokens back in their places for the decoder.",
             "Giữ một tập con ngẫu nhiên các mảnh của mỗi ảnh, N x (1 - mask_ratio) mảnh (làm tròn xuống), mỗi "
             "ảnh chọn riêng, mọi tập con đều có khả năng như nhau; bộ mã hóa không bao giờ thấy phần còn lại. "
             "Trả về các token được giữ (B, keep, D), mặt nạ bool (B, N) theo thứ tự gốc của các mảnh, True = "
             "bị che, và ids_restore (B, N), thứ tự giúp bộ giải mã đặt token về đúng chỗ."),
        approach("Draw one random number per patch (the noise) and sort it. What does sorting random noise give "
                 "you? A random order of the patches, a different one for every image, in one batched operation: "
                 "keep the first `keep` patches of that order, the smallest noise. That order is a permutation; "
                 "how do you undo a permutation? Sorting the permutation itself gives its inverse.",
                 "Rút một số ngẫu nhiên cho mỗi mảnh (noise) rồi sắp xếp. Sắp xếp noise ngẫu nhiên cho bạn điều "
                 "gì? Một thứ tự ngẫu nhiên của các mảnh, khác nhau cho mỗi ảnh, chỉ bằng một phép toán theo lô: "
                 "giữ `keep` mảnh đầu của thứ tự đó (noise nhỏ nhất). Thứ tự đó là một hoán vị; làm sao đảo "
                 "ngược một hoán vị? Sắp xếp chính hoán vị đó cho hoán vị nghịch đảo."),
        approach("Taking the kept tokens out: gather along the patch axis, with an index shaped like the result, "
                 "(B, keep, D), so the indices are repeated over D. The mask is easy to write in the shuffled "
                 "order (the first `keep` are False, the rest True); then put it back in the patches' order with "
                 "ids_restore. With noise None, draw it with the generator, so that a seed repeats the mask.",
                 "Lấy các token được giữ: gather theo trục mảnh, với chỉ số có hình dạng của kết quả (B, keep, "
                 "D), tức là lặp chỉ số theo D. Mặt nạ dễ viết theo thứ tự đã xáo (`keep` phần tử đầu là False, "
                 "còn lại True); rồi đưa về thứ tự gốc bằng ids_restore. Khi noise là None, rút nó bằng "
                 "generator để cùng một seed cho cùng một mặt nạ."),
        code("Two argsorts: the first gives the shuffle, the second its inverse. repeat is einops'.",
             "argsort hai lần: lần đầu cho thứ tự xáo trộn, lần sau cho hoán vị nghịch đảo; chỉ số của gather "
             "phải có cùng số chiều với tensor được lấy.",
             "b, n, d = tokens.shape; keep = int(n * (1 - mask_ratio))",
             "if noise is None: noise = torch.rand(b, n, generator=generator)",
             "ids_shuffle = noise.argsort(dim=1); ids_restore = ids_shuffle.argsort(dim=1)",
             "visible = tokens.gather(1, repeat(ids_shuffle[:, :keep], 'b k -> b k d', d=d))",
             "mask = torch.ones(b, n, dtype=torch.bool); mask[:, :keep] = False",
             "mask = mask.gather(1, ids_restore)"),
    ],
    "mae_loss": [
        idea("Two functions. The target: every patch's pixels as one vector, in the same order as patchify, "
             "and with norm_pix each patch shifted to mean 0 and scaled to std 1 over all its p*p*C numbers, "
             "so the model learns shapes and edges rather than brightness: (B, 3, H, W) to (B, N, p*p*3). The "
             "loss: how far the prediction is from that target, counted ONLY on the hidden patches: one number.",
             "Hai hàm. Mục tiêu: pixel của mỗi mảnh thành một véc-tơ, cùng thứ tự với patchify; với norm_pix, "
             "mỗi mảnh được dời về trung bình 0 và co về độ lệch chuẩn 1 trên toàn bộ p*p*C số của nó (mục "
             "tiêu pixel chuẩn hóa), để mô hình học hình dạng và cạnh chứ không học độ sáng. Hàm mất mát: dự "
             "đoán cách mục tiêu bao xa, CHỈ tính trên các mảnh bị che: một con số."),
        approach("The target starts as patchify (you wrote it in patch_embed). One mean and one variance per "
                 "patch: reduce over the last axis only, and keep that axis so the result broadcasts back over "
                 "the patch's numbers; the variance is the unbiased one, as in the official code. For the loss, "
                 "first turn each patch into its own mean squared error, a (B, N) table, then average that table "
                 "over the places where the mask is True: all images' masked patches together, not a mean of "
                 "per-image means.",
                 "Mục tiêu bắt đầu bằng patchify (bạn đã viết trong patch_embed). Mỗi mảnh một trung bình và một "
                 "phương sai: rút gọn theo trục cuối, giữ lại trục đó để kết quả lan (broadcast) lên các số của "
                 "mảnh; phương sai không chệch, như code chính thức. Với hàm mất mát, trước hết tính MSE của "
                 "từng mảnh, một bảng (B, N), rồi lấy trung bình bảng đó tại các chỗ mặt nạ là True: gộp các "
                 "mảnh bị che của mọi ảnh, không phải trung bình của các trung bình từng ảnh."),
        code("keepdim=True keeps the patch axis for the broadcast; mask.sum() counts the masked patches.",
             "keepdim=True giữ trục của mảnh để phép trừ và phép chia lan trên cả mảnh; nhân với mặt nạ (0/1) "
             "rồi chia cho số mảnh bị che là trung bình trên các mảnh bị che.",
             "target = rearrange(images, 'b c (h ph) (w pw) -> b (h w) (ph pw c)', ph=p, pw=p)",
             "mean, var = target.mean(dim=-1, keepdim=True), target.var(dim=-1, keepdim=True)",
             "return (target - mean) / (var + 1e-6) ** 0.5          # with norm_pix; else return target",
             "per_patch = ((pred - target) ** 2).mean(dim=-1)        # (B, N)",
             "return (per_patch * mask).sum() / mask.sum()"),
    ],
    "tubelet_embed": [
        idea("The video version of patch_embed: cut the clip into non-overlapping cubes of pt frames x ph x pw "
             "pixels (tubelets) and lay each cube out flat: (B, C, T, H, W) becomes (B, N, pt*ph*pw*C), "
             "N = T/pt x H/ph x W/pw, the tokens ordered time first, then rows, then columns. TubeletEmbed "
             "gives (B, N, D).",
             "Phiên bản video của patch_embed: cắt clip thành các khối video (tubelet) pt khung hình x ph x pw "
             "pixel không chồng nhau và trải phẳng từng khối: (B, C, T, H, W) thành (B, N, pt*ph*pw*C), token "
             "xếp theo thời gian trước, rồi hàng, rồi cột. TubeletEmbed cho (B, N, D)."),
        approach("As patchify, with one more axis: T is t groups of pt frames. The token's index is made of t, "
                 "h and w in that order, so all the tokens of the first pt frames come first; inside a tubelet "
                 "the numbers go pt, ph, pw, c, channel fastest. The given Conv3d cuts and projects in one go, "
                 "to a (B, D, T', H', W') grid: read it as a sequence in the same t, h, w order.",
                 "Như patchify, thêm một trục: T là t nhóm pt khung hình. Chỉ số token gồm t, h, w theo đúng thứ "
                 "tự đó, nên mọi token của pt khung hình đầu đứng trước; trong một khối video các số theo thứ tự "
                 "pt, ph, pw, c, kênh màu nhanh nhất. Conv3d cho sẵn vừa cắt vừa chiếu, ra lưới (B, D, T', H', "
                 "W'): đọc nó thành một dãy theo cùng thứ tự t, h, w."),
        code("One pattern each, (t h w) for the tokens.",
             "Mỗi hàm một mẫu einops; (t h w) là thứ tự token, giống hệt thứ tự mà mặt nạ che theo ống dùng.",
             "pt, ph, pw = tubelet",
             "patchify:  return rearrange(video, 'b c (t pt) (h ph) (w pw) -> b (t h w) (pt ph pw c)', "
             "pt=pt, ph=ph, pw=pw)",
             "forward:   return rearrange(self.proj(video), 'b d t h w -> b (t h w) d')"),
    ],
    "tube_mask": [
        idea("One mask per sample, True = hidden, over T'*H'*W' tokens. Neighbouring frames are almost the same "
             "picture: a place hidden in one time slice but visible in the next could simply be copied from the "
             "neighbour. So choose the hidden places once, in ONE slice of H'*W' places, and hide those same "
             "places in every time slice: a tube through the clip. Each sample chooses its own places. Shape: "
             "bool (batch, T'*H'*W'), the same number of True in every row.",
             "Mỗi mẫu một mặt nạ, True = bị che, trên T'*H'*W' token. Các khung hình liền nhau gần như giống "
             "nhau (sự dư thừa): một vị trí bị che ở lát thời gian này nhưng lộ ra ở lát sau thì chỉ việc chép "
             "từ hàng xóm. Vì vậy chọn các vị trí cần che một lần, trên MỘT lát H'*W' vị trí, rồi che đúng các "
             "vị trí đó ở mọi lát: một ống xuyên suốt clip (che theo ống). Mỗi mẫu chọn vị trí riêng. Hình "
             "dạng: bool (batch, T'*H'*W'), mọi hàng có cùng số True."),
        approach("First one slice: exactly k = ratio x H'*W' places (rounded down) out of L = H'*W', at random, "
                 "per sample. Exactly k, not about k: a coin tossed for every place gives about k. What does "
                 "sorting random noise give you? If you knew each place's rank in that sorted order, which places "
                 "would be the k smallest?",
                 "Trước hết một lát: chọn ngẫu nhiên ĐÚNG k = ratio x H'*W' vị trí (làm tròn xuống) trong L = "
                 "H'*W', riêng cho từng mẫu. Đúng k, không phải khoảng k: tung đồng xu cho từng vị trí chỉ được "
                 "khoảng k. Sắp xếp noise ngẫu nhiên cho bạn điều gì? Nếu biết thứ hạng của mỗi vị trí trong thứ "
                 "tự đã sắp xếp, vị trí nào là k vị trí nhỏ nhất?"),
        approach("Then time. The token order is t, then h, then w, as the tubelet embedding lays tokens out: the "
                 "H'*W' tokens of time slice 0 come first, then all of slice 1, and so on. So the full mask is "
                 "the slice written out T' times, one copy after the other, not each place repeated T' times in "
                 "a row.",
                 "Rồi đến thời gian. Thứ tự token là t, rồi h, rồi w, đúng như cách nhúng khối video xếp token: "
                 "H'*W' token của lát 0 đứng đầu, rồi toàn bộ lát 1, v.v. Nên mặt nạ đầy đủ là cả lát được chép "
                 "T' lần nối tiếp nhau, chứ không phải mỗi vị trí lặp T' lần liền nhau."),
        code("The rank of each place's noise, compared with k; then the slice repeated over time (einops' repeat).",
             "argsort hai lần cho thứ hạng của mỗi vị trí; thứ hạng nhỏ hơn k là đúng k vị trí ngẫu nhiên; "
             "mẫu einops đặt cả lát lặp lại theo thời gian, t đứng trước, đúng thứ tự token.",
             "t, h, w = grid; k = int(ratio * h * w)",
             "one_slice = torch.rand(batch, h * w, generator=generator).argsort(1).argsort(1) < k",
             "return repeat(one_slice, 'b hw -> b (t hw)', t=t)        # or: one_slice.repeat(1, t)"),
    ],
    "mixup": [
        idea("Train on blends: every sample becomes a mix of itself and a partner, weighted lam and 1 - lam, "
             "and its label is mixed the same way, so the target is soft: two classes share the probability. "
             "The model can no longer memorise every clip exactly and learns smoother decision boundaries. x "
             "keeps its shape (B, ...); the targets are (B, K) floats, each row summing to 1.",
             "Huấn luyện trên các mẫu trộn: mỗi mẫu thành hỗn hợp của chính nó và một mẫu bạn, với trọng số "
             "lam và 1 - lam, nhãn cũng trộn y như vậy, nên mục tiêu là nhãn mềm: hai lớp chia nhau xác suất. "
             "Mô hình không thể học vẹt từng clip nữa và có ranh giới quyết định mượt hơn. x giữ hình dạng "
             "(B, ...); mục tiêu là (B, K) số thực, mỗi hàng cộng lại bằng 1."),
        approach("The partner of sample i is sample B-1-i: the batch in reverse, so that one lam mixes the whole "
                 "batch in one pass. The labels first become one-hot rows of K numbers, as floats; then the "
                 "inputs and the one-hot rows get the same blend, with the same lam. Which one does lam weigh: "
                 "the sample itself, or its partner?",
                 "Mẫu bạn của mẫu i là mẫu B-1-i: lô đảo ngược, để một lam trộn cả lô trong một lượt. Nhãn trước "
                 "hết thành các hàng one-hot K số (số thực); rồi đầu vào và các hàng one-hot được trộn giống hệt "
                 "nhau, với cùng lam. lam là trọng số của chính mẫu đó hay của mẫu bạn?"),
        code("Three lines; flip(0) reverses the batch.",
             "Ba dòng; flip(0) đảo ngược lô; nhãn trộn bằng đúng lam của đầu vào.",
             "t = F.one_hot(y, num_classes).float()                 # (B,) -> (B, K)",
             "x_mixed = lam * x + (1 - lam) * x.flip(0)",
             "return x_mixed, lam * t + (1 - lam) * t.flip(0)"),
    ],
}
