"""After a PASS: one question about what you just wrote, and what to do next.

`python -m exercises check NAME` prints the question under `PASS NAME`. It has no
answer to look up in the grader: the lesson's page (exercises/README.md lists it)
and a minute with the code in a Python shell answer it. Where it says "try",
the command runs from the repository root on your own file.

Sau mỗi PASS: một câu hỏi về đoạn code bạn vừa viết, và bài tiếp theo.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    en: str
    vi: str
    try_it: str = ""  # a command that shows the answer on the student's own code


QUESTIONS = {
    "patch_embed": Question(
        "A 224x224 image gives 196 tokens with p = 16. How many with p = 8, and how many times bigger is each "
        "attention map (N x N) then? That is the price of small patches.",
        "Ảnh 224x224 cho 196 token với p = 16. Với p = 8 thì bao nhiêu token, và mỗi bản đồ chú ý (N x N) lớn "
        "gấp mấy lần? Đó là cái giá của mảnh ảnh nhỏ.",
        "python -c \"import torch; from exercises.patch_embed import patchify; "
        "print(patchify(torch.randn(1, 3, 224, 224), 8).shape)\""),
    "attention": Question(
        "What happens to the softmax if you forget the 1/sqrt(d) and d = 768? The scores of random q and k "
        "have a std of about sqrt(768) = 28: try it, the largest weight of each of 4 queries over 196 keys, "
        "without and with the scale. What gradient does a softmax that is almost one-hot pass back?",
        "Điều gì xảy ra với softmax nếu quên chia cho sqrt(d) khi d = 768? Điểm của q, k ngẫu nhiên có độ lệch "
        "chuẩn khoảng sqrt(768) = 28: hãy thử, trọng số lớn nhất của 4 query trên 196 key, không chia và có "
        "chia. Một softmax gần như one-hot truyền ngược gradient gì?",
        "python -c \"import torch; s = torch.randn(4, 768) @ torch.randn(768, 196); "
        "print(s.softmax(-1).amax(-1), (s / 768**0.5).softmax(-1).amax(-1))\""),
    "block": Question(
        "Follow the gradient from the output of 12 stacked blocks back to their input along the residual "
        "additions alone: what does it pass through on the way? In post-norm, norm(x + f(x)), what would it "
        "pass through 24 times? That is why ViT, MAE and VideoMAE use pre-norm.",
        "Lần theo gradient từ đầu ra của 12 khối chồng lên nhau về đầu vào, chỉ dọc theo các phép cộng của kết "
        "nối tắt: nó đi qua những gì? Với post-norm, norm(x + f(x)), nó phải đi qua cái gì 24 lần? Đó là lý do "
        "ViT, MAE và VideoMAE dùng pre-norm."),
    "random_masking": Question(
        "Your visible tokens come out in a shuffled order, and the encoder does not mind. Why not? What does "
        "attention know about the order of its tokens, and so must the position embeddings be added before "
        "the masking or after it?",
        "Các token được giữ ra theo thứ tự đã xáo trộn, mà bộ mã hóa không bận tâm. Vì sao? Cơ chế chú ý biết "
        "gì về thứ tự các token, và vì thế phải cộng nhúng vị trí trước hay sau khi che?"),
    "mae_loss": Question(
        "A patch of one flat colour (the sky, a wall): what is your normalised target for it, and what would "
        "it be without the 1e-6? Then: why is the visible patches' error not counted, what would the model "
        "learn from it?",
        "Một mảnh chỉ có một màu phẳng (bầu trời, bức tường): mục tiêu chuẩn hóa của bạn cho nó là gì, và nếu "
        "bỏ 1e-6 thì sao? Rồi: vì sao không tính sai số trên các mảnh không bị che, mô hình sẽ học được gì từ đó?",
        "python -c \"import torch; from exercises.mae_loss import mae_target; "
        "print(mae_target(torch.ones(1, 3, 4, 4), 4).unique())\""),
    "tubelet_embed": Question(
        "A 16-frame 224x224 clip gives 1,568 tubelets of 2x16x16. How many tokens would 16x16 patches of every "
        "frame give, and how much more would attention (N x N) cost? What does a tubelet of 2 frames buy, "
        "and what could it lose?",
        "Một clip 16 khung hình 224x224 cho 1,568 khối video 2x16x16. Nếu cắt mảnh 16x16 trên từng khung hình "
        "thì được bao nhiêu token, và cơ chế chú ý (N x N) tốn gấp mấy lần? Khối video 2 khung hình được lợi "
        "gì, và có thể mất gì?",
        "python -c \"import torch; from exercises.tubelet_embed import patchify; "
        "v = torch.randn(1, 3, 16, 224, 224); print(patchify(v, (2, 16, 16)).shape, patchify(v, (1, 16, 16)).shape)\""),
    "tube_mask": Question(
        "Your mask hides 90% of the tokens. A random mask over all 1,568 tokens at 90% hides as many: why is "
        "that an easier puzzle (VideoMAE, table 1c)? Where could the model find the pixels of a hidden "
        "tubelet, and why does that teach it nothing about motion?",
        "Mặt nạ của bạn che 90% số token. Che ngẫu nhiên 90% trên cả 1,568 token cũng che chừng ấy: vì sao đó "
        "là câu đố dễ hơn (VideoMAE, bảng 1c)? Mô hình có thể tìm pixel của một khối video bị che ở đâu, và vì "
        "sao điều đó không dạy nó gì về chuyển động?"),
    "mixup": Question(
        "Mix two clips of the SAME class: what is the target? And with lam = 0.5, a clip of class 3 and one of "
        "class 7: which loss can learn from that target, when cross-entropy with class indices takes one class "
        "per sample? See soft_target_cross_entropy in finetune/training/mixup.py.",
        "Trộn hai clip CÙNG lớp: mục tiêu là gì? Còn với lam = 0.5, một clip lớp 3 và một clip lớp 7: hàm mất "
        "mát nào học được từ mục tiêu đó, khi cross-entropy với chỉ số lớp chỉ nhận một lớp mỗi mẫu? Xem "
        "soft_target_cross_entropy trong finetune/training/mixup.py."),
}

FINISHED = Question(  # after the last exercise, or when all pass
    "Now run the whole competition pipeline on toy clips, on this CPU: the ideas you wrote, at work. Then "
    "enter the competition with the guide docs/04_project71.md (a GPU command for every row of the course "
    "notes' table).",
    "Giờ hãy chạy toàn bộ quy trình của cuộc thi trên dữ liệu đồ chơi, ngay trên CPU này: những ý tưởng bạn "
    "vừa viết đang chạy thật. Rồi tham gia cuộc thi theo hướng dẫn docs/04_project71.md (lệnh GPU cho từng "
    "hàng của bảng thử nghiệm).",
    "make demo        # or: python -m finetune demo")
